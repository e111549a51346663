// A user in headless Chromium (playwright-core) going through a zone's browser login flows, for
// tests/e2e. It opens `start` and then, page after page, does what `plan` says for the kind of page
// it sees, until the browser reaches `stop_at` (the client's redirect URI), lands on an error page,
// or finds a page it has no instruction for. Driven from pytest: parameters as JSON in env
// FLOW_PARAMS, the result as one line of JSON on stdout.
//
// FLOW_PARAMS:
//   start            URL to open first
//   stop_at          URL prefix that ends the flow (the client's redirect listener)
//   user_data_dir    Chromium profile folder (a fresh one per test, or shared to keep sessions)
//   screenshot_dir   optional: save <kind>[-n].png of every page seen there
//   plan             what to do per page kind:
//     signin           list of attempts, used in order: "upstream" (click a#upstream) or
//                      {email, password, intent: "signin"|"signup", novalidate?: true}
//     consent          "allow" | "deny"            (the zone's consent page)
//     upstream_login   {login, password}           (oidc-provider's dev login form)
//     upstream_consent true                        (oidc-provider's dev consent form)
//   max_steps        default 20
//   await_stop       optional: the start page navigates by itself; wait until it reaches stop_at
//
// Result: { outcome: "stopped"|"error_page"|"stuck"|"exception", final_url, steps: [{kind, url,
//   status, title, alert}], screenshots: {name: path}, message? }
//
// Page kinds: zone-signin, zone-signin-error (sign-in page with an alert), zone-upstream-only
// (sign-in page offering only the upstream button), zone-consent, zone-error, upstream-login,
// upstream-consent, callback, unknown.

import fs from 'node:fs';
import path from 'node:path';

import { chromium } from 'playwright-core';

const params = JSON.parse(process.env.FLOW_PARAMS || '{}');
const plan = params.plan || {};
const signinAttempts = [...(plan.signin || [])];
const maxSteps = params.max_steps || 20;
const result = { outcome: 'stuck', final_url: null, steps: [], screenshots: {} };

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function kindOf(page) {
  const url = page.url();
  if (params.stop_at && url.startsWith(params.stop_at)) return 'callback';
  const title = await page.title();
  if (title === 'Sign-in error') return 'zone-error';
  if (await page.locator('#allow').count()) return 'zone-consent';
  if (await page.locator('input[name=csrf]').count() && await page.locator('input[name=email]').count()) {
    return (await page.locator('[role=alert]').count()) ? 'zone-signin-error' : 'zone-signin';
  }
  if (await page.locator('a#upstream').count()) return 'zone-upstream-only';
  if (await page.locator('input[name=prompt][value=login]').count()) return 'upstream-login';
  if (await page.locator('input[name=prompt][value=consent]').count()) return 'upstream-consent';
  return 'unknown';
}

// Clicks and waits for the navigation it starts (through any redirects) to load.
async function clickAndWait(page, locator) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
}

const seen = {};
async function screenshot(page, kind) {
  if (!params.screenshot_dir) return;
  seen[kind] = (seen[kind] || 0) + 1;
  const name = seen[kind] === 1 ? `${kind}.png` : `${kind}-${seen[kind]}.png`;
  const file = path.join(params.screenshot_dir, name);
  await page.screenshot({ path: file, fullPage: true });
  result.screenshots[name.replace(/\.png$/, '')] = file;
}

let context;
try {
  if (params.screenshot_dir) fs.mkdirSync(params.screenshot_dir, { recursive: true });
  context = await chromium.launchPersistentContext(params.user_data_dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 800, height: 720 },
  });
  // Hermetic: nothing leaves the loopback interface (the dev IdP's pages import a web font).
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])/, (route) => route.abort());
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(params.timeout_ms || 20000);
  let status = null;
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.request().frame() === page.mainFrame()) status = r.status();
  });

  await page.goto(params.start, { waitUntil: 'load' });
  if (params.await_stop) {
    // A start page that moves on by itself (a form posted by script): wait for the journey's end.
    await page.waitForURL((u) => u.href.startsWith(params.stop_at), { waitUntil: 'load' });
  }
  for (let i = 0; i < maxSteps; i += 1) {
    const kind = await kindOf(page);
    const alert = (await page.locator('[role=alert]').count())
      ? (await page.locator('[role=alert]').first().innerText()).trim()
      : null;
    result.steps.push({ kind, url: page.url(), status, title: await page.title(), alert });
    result.final_url = page.url();
    if (kind !== 'callback' && kind !== 'unknown') await screenshot(page, kind);
    if (kind === 'callback') { result.outcome = 'stopped'; break; }
    if (kind === 'zone-error') { result.outcome = 'error_page'; break; }
    if (kind === 'unknown') { result.outcome = 'stuck'; result.message = 'unknown page'; break; }

    if (kind === 'zone-signin' || kind === 'zone-signin-error' || kind === 'zone-upstream-only') {
      const attempt = signinAttempts.shift();
      if (attempt === undefined) { result.message = `no sign-in attempt left for ${kind}`; break; }
      if (attempt === 'upstream') {
        await clickAndWait(page, page.locator('a#upstream'));
      } else {
        if (attempt.novalidate) {
          // (as a script or an old browser would: skip the page's own minlength/required checks)
          await page.evaluate(() => { for (const f of document.forms) f.noValidate = true; });
        }
        await page.fill('input[name=email]', attempt.email);
        await page.fill('input[name=password]', attempt.password);
        await clickAndWait(page, page.locator(`button[name=intent][value=${attempt.intent || 'signin'}]`));
      }
    } else if (kind === 'zone-consent') {
      if (!plan.consent) { result.message = 'no consent decision'; break; }
      await clickAndWait(page, page.locator(plan.consent === 'allow' ? '#allow' : '#deny'));
    } else if (kind === 'upstream-login') {
      if (!plan.upstream_login) { result.message = 'no upstream login'; break; }
      await page.fill('input[name=login]', plan.upstream_login.login);
      await page.fill('input[name=password]', plan.upstream_login.password);
      await clickAndWait(page, page.locator('button[type=submit]'));
    } else if (kind === 'upstream-consent') {
      if (!plan.upstream_consent) { result.message = 'no upstream consent'; break; }
      await clickAndWait(page, page.locator('button[type=submit]'));
    }
  }
} catch (e) {
  result.outcome = 'exception';
  result.message = String(e && e.stack ? e.stack : e);
} finally {
  if (context) await context.close().catch(() => {});
}
process.stdout.write(`${JSON.stringify(result)}\n`);
