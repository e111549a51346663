// An organization admin walking through the web console (`{public_url}/console`) in headless
// Chromium (playwright-core), for tests/e2e/test_console.py: sign-in at the platform zone, a zone,
// an application with a password credential, a resource as its dependency, a Cedar policy (first
// with a syntax error, then fixed), a policy set version activated, the decision log, a second
// policy version and the diff, a shadow set version, a vault secret, a provider, a zone member,
// a key rotation, an invitation, a service account credential, a role change, the other zone and
// organization pages, and sign-out. After loading every page it runs axe-core (injected with the
// context's `bypassCSP`, as the console allows only its own script) and keeps the `serious` and
// `critical` violations of that page, and lists the ids used more than once on it.
//
// Driven from pytest: parameters as JSON in env CONSOLE_PARAMS; the result as one line of JSON on
// stdout (the last line). At a pause the script prints `{"pause": name, ...}` and waits for one
// line of JSON on stdin: `{}` to go on, `{"stop": "why"}` to end the walk there (the test checks
// what the server does between steps, e.g. a token request with the secret read from the page).
// The answer at pause `credential` may name `also_tick`: more policy ids for the set version.
//
// CONSOLE_PARAMS:
//   base_url         the server's public URL
//   organization_id  the organization to sign in to
//   email, password  the person (an org_admin with an account in the platform zone)
//   names            {zone, app, app_identifier, resource, resource_identifier, policy, set,
//                    service_account, secret, provider, provider_identifier}
//   cedar_comment    a comment line put before cedar_good for version 2 (then compared with 1)
//   secret_value     the value of a vault secret and a provider's client secret (never shown back)
//   redirect_uris    the application's redirect URIs; scopes: the resource's scopes
//   invitee          an email address to invite (as org_member)
//   member_id        an organization user id to make a zone member (zone_viewer)
//   platform_zone_id the organization's platform zone (its users and sessions pages are visited)
//   cedar_bad        policy text with a syntax error (saved first)
//   cedar_good       the fixed text (saved next: version 1)
//   screenshot_dir   optional: full-page screenshots (1280 px wide) of the main pages, <name>.png
//   screenshot_all   optional: also one of every page audited, page-NN.png (`pages[].screenshot`)
//   timeout_ms       default 20000
//
// Result: { outcome: "done"|"stopped"|"exception", step (the step running at the end), message?,
//   pages: [{name, url, status, title, violations: [{id, impact, help, nodes: [target…]}],
//   other: [id…] (violations of lower impact), duplicate_ids: [id…]}], screenshots: {name: path}, data: {…} }

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';

import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const params = JSON.parse(process.env.CONSOLE_PARAMS || '{}');
const base = params.base_url.replace(/\/$/, '');
const names = params.names || {};
const result = { outcome: 'exception', step: null, pages: [], screenshots: {}, data: {} };
const data = result.data;

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
const SERIOUS = new Set(['serious', 'critical']);

class Stopped extends Error {}

const input = readline.createInterface({ input: process.stdin });
const replies = input[Symbol.asyncIterator]();

// Hands over to the test and waits for its answer.
async function pause(name, extra = {}) {
  process.stdout.write(`${JSON.stringify({ pause: name, ...extra })}\n`);
  const { value, done } = await replies.next();
  if (done) throw new Stopped(`stdin closed at pause ${name}`);
  const reply = JSON.parse(value || '{}');
  if (reply.stop) throw new Stopped(`stopped at ${name}: ${reply.stop}`);
  return reply;
}

let page;
let status = null;

// axe-core on the page as it is now; keeps the serious and critical violations.
async function audit(name) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    await page.addScriptTag({ content: AXE_SOURCE });
  }
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
  });
  // (axe-core 4.10 retired its duplicate-id rules; a repeated id still breaks `label for=` and
  // `aria-*` references, so the walk checks them itself)
  const duplicateIds = await page.evaluate(() => {
    const n = {};
    for (const e of document.querySelectorAll('[id]')) n[e.id] = (n[e.id] || 0) + 1;
    return Object.keys(n).filter((id) => n[id] > 1);
  });
  const entry = {
    name,
    url: page.url(),
    status,
    title: await page.title(),
    violations: found.filter((v) => SERIOUS.has(v.impact)),
    other: found.filter((v) => !SERIOUS.has(v.impact)).map((v) => `${v.id} (${v.impact})`),
    duplicate_ids: duplicateIds,
  };
  result.pages.push(entry);
  if (params.screenshot_all && params.screenshot_dir) {
    const file = path.join(params.screenshot_dir, `page-${String(result.pages.length).padStart(2, '0')}.png`);
    await page.screenshot({ path: file, fullPage: true });
    entry.screenshot = file;
  }
  return entry;
}

async function screenshot(name) {
  if (!params.screenshot_dir) return;
  const file = path.join(params.screenshot_dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  result.screenshots[name] = file;
}

// Opens a console path and audits it.
async function visit(name, url) {
  await page.goto(url.startsWith('http') ? url : base + url, { waitUntil: 'load' });
  return audit(name);
}

// Clicks and waits for the navigation it starts (through any redirects) to load.
async function clickAndWait(selector) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator(selector).click()]);
}

function step(name) {
  result.step = name;
}

// The `id` after `/{kind}/` in the current URL.
function idAfter(kind) {
  const m = new URL(page.url()).pathname.match(new RegExp(`/${kind}/([^/?#]+)`));
  if (!m) throw new Error(`no ${kind} id in ${page.url()}`);
  return decodeURIComponent(m[1]);
}

async function noticeText() {
  const n = page.locator('.notice[role=status]');
  return (await n.count()) ? (await n.first().innerText()).trim() : null;
}

async function alertText() {
  const n = page.locator('main [role=alert]');
  return (await n.count()) ? (await n.first().innerText()).trim() : null;
}

// The `dt`/`dd` pairs of the first property list.
async function props() {
  return page.evaluate(() => {
    const out = {};
    const dl = document.querySelector('dl.props');
    if (!dl) return out;
    for (const dt of dl.querySelectorAll('dt')) {
      const dd = dt.nextElementSibling;
      out[dt.textContent.trim()] = dd ? dd.textContent.trim() : null;
    }
    return out;
  });
}

// The rows of a table as arrays of cell texts, with the badges and link paths of each row.
async function rows(selector) {
  return page.evaluate((sel) => [...document.querySelectorAll(`${sel} tbody tr`)].map((tr) => ({
    cells: [...tr.querySelectorAll('td')].map((td) => td.textContent.trim()),
    badges: [...tr.querySelectorAll('.badge')].map((b) => b.className),
    links: [...tr.querySelectorAll('a[href]')].map((a) => new URL(a.href).pathname),
  })), selector);
}

// Submits a form unchanged (as somebody saving without edits would): what the page says after.
async function saveUnchanged(selector) {
  await clickAndWait(selector);
  return { notice: await noticeText(), alert: await alertText(), url: page.url() };
}

let browser;
try {
  if (params.screenshot_dir) fs.mkdirSync(params.screenshot_dir, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  // bypassCSP: axe-core is injected as an inline script, which the console's CSP refuses.
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 } });
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])/, (route) => route.abort());
  page = await context.newPage();
  page.setDefaultTimeout(params.timeout_ms || 20000);
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.request().frame() === page.mainFrame()) status = r.status();
  });
  page.on('dialog', (d) => d.accept());

  // --- sign-in at the organization's platform zone -------------------------------------------
  step('sign-in');
  await page.goto(`${base}/console/sign-in?organization=${encodeURIComponent(params.organization_id)}`, { waitUntil: 'load' });
  data.sign_in_url = page.url();
  await audit('zone sign-in');
  await page.fill('input[name=email]', params.email);
  await page.fill('input[name=password]', params.password);
  await clickAndWait('button[name=intent][value=signin]');
  if (await page.locator('#allow').count()) {
    data.consent_shown = true;
    await audit('zone consent');
    await clickAndWait('#allow');
  }
  data.after_sign_in = page.url();
  await audit('zones (empty)');

  // --- a zone --------------------------------------------------------------------------------
  step('create zone');
  await page.fill('#name', names.zone);
  await page.fill('#description', 'Made by the console walk-through');
  await page.check('#protocols-oauth2-pkce_required');
  await page.selectOption('#signing_alg', 'ES256');
  await clickAndWait('#create-zone');
  data.zone_id = idAfter('zones');
  data.zone_notice = await noticeText();
  await audit('zone overview (new)');
  await visit('zones', '/console/zones');
  data.zones = await rows('main table');
  await screenshot('console-zones');
  const zone = `/console/zones/${encodeURIComponent(data.zone_id)}`;

  // --- an application and its password credential ----------------------------------------------
  step('create application');
  await visit('applications (empty)', `${zone}/applications`);
  await page.fill('#name', names.app);
  await page.fill('#identifier', names.app_identifier);
  await page.fill('#protocols-oauth2-redirect_uris', params.redirect_uris.join('\n'));
  await clickAndWait('#create-submit');
  data.app_id = idAfter('applications');
  data.app_notice = await noticeText();
  await audit('application');

  step('create credential');
  await page.selectOption('#type', 'password');
  await clickAndWait('#create-credential');
  data.credential_notice = await noticeText();
  data.secret = (await page.locator('code#secret').innerText()).trim();
  const created = await props();
  data.credential_id = created.id;
  data.client_id = created.identifier;
  data.credential_type = created.type;
  await audit('credential created (secret shown)');
  await screenshot('console-credential-secret');

  step('credential page again');
  await visit('credential', `${zone}/application-credentials/${encodeURIComponent(data.credential_id)}`);
  data.credential_page_has_secret = (await page.content()).includes(data.secret);
  data.credential_page = await props();

  // --- a resource, as the application's dependency ---------------------------------------------
  step('create resource');
  await visit('resources (empty)', `${zone}/resources`);
  await page.fill('#name', names.resource);
  await page.fill('#identifier', names.resource_identifier);
  await page.fill('#scopes', params.scopes.join('\n'));
  await page.fill('#credential_lifetime_seconds', '600');
  await clickAndWait('#create-submit');
  data.resource_id = idAfter('resources');
  await audit('resource');
  data.resource_saved = await saveUnchanged('#save');

  step('add dependency');
  await visit('application (before dependency)', `${zone}/applications/${encodeURIComponent(data.app_id)}`);
  await page.selectOption('#dependency', data.resource_id);
  await clickAndWait('#add-dependency');
  data.dependency_notice = await noticeText();
  data.dependency_alert = await alertText();
  data.dependencies = await rows('main table');
  await audit('application (with dependency)');
  data.app_saved = await saveUnchanged('#save');

  const reply = await pause('credential', {
    client_id: data.client_id,
    secret: data.secret,
    resource_id: data.resource_id,
  });

  // --- a policy: a syntax error shown at its line, then fixed -----------------------------------
  step('create policy');
  await visit('policies (empty)', `${zone}/policies`);
  await page.fill('#name', names.policy);
  await clickAndWait('#create-policy');
  data.policy_id = idAfter('policies');
  await audit('policy editor (new)');

  step('save a policy with a syntax error');
  await page.fill('#cedar', params.cedar_bad);
  await clickAndWait('#save-version');
  data.policy_alert = await alertText();
  data.annotated = await page.locator('#annotated').count();
  data.error_line_text = (await page.locator('#error-line').count())
    ? await page.locator('#error-line').innerText() : null;
  data.lineerr = (await page.locator('.lineerr').count())
    ? (await page.locator('.lineerr').first().innerText()).trim() : null;
  data.cedar_kept = await page.locator('#cedar').inputValue();
  await audit('policy editor (syntax error)');
  await screenshot('console-policy-error');

  step('save the fixed policy');
  await page.fill('#cedar', params.cedar_good);
  await clickAndWait('#save-version');
  data.policy_notice = await noticeText();
  data.policy_alert_after_fix = await alertText();
  data.policy_versions = await rows('main table');
  await audit('policy editor (version 1)');

  // --- a policy set version with it, activated ---------------------------------------------------
  step('create policy set');
  await visit('policy sets', `${zone}/policy-sets`);
  await page.fill('#name', names.set);
  await clickAndWait('#create-policy-set');
  data.set_id = idAfter('policy-sets');
  await audit('policy set (new)');

  step('create policy set version');
  // the new policy and, so that what it does not forbid stays permitted, any other policy offered
  // (the zone's default permits)
  data.offered = await page.evaluate(() => [...document.querySelectorAll('input[type=checkbox][name=policy]')]
    .map((c) => ({ id: c.value, label: c.parentElement.textContent.trim() })));
  for (const id of [data.policy_id, ...(reply.also_tick || [])]) {
    await page.locator(`[id="policy-${id}"]`).check();
  }
  await clickAndWait('#create-set-version');
  data.set_version_notice = await noticeText();
  data.set_version_alert = await alertText();
  step('activate');
  await clickAndWait('#activate-1');
  data.activate_notice = await noticeText();
  data.activate_alert = await alertText();
  data.set_versions = await rows('main table');
  data.set_version_id = (data.set_versions[0]?.links[0] || '').split('/versions/')[1];
  await audit('policy set (version 1 active)');

  await pause('policy-active', { policy_id: data.policy_id, set_id: data.set_id });

  // --- the decision log (written in batches every ~500 ms) -------------------------------------
  step('decision log');
  let denied = [];
  for (let i = 0; i < 20 && !denied.length; i += 1) {
    if (i) await page.waitForTimeout(500);
    await page.goto(`${base}${zone}/decisions`, { waitUntil: 'load' });
    data.decisions = (await page.locator('#decisions').count()) ? await rows('#decisions') : [];
    denied = data.decisions.filter((r) => r.badges.some((b) => b.split(' ').includes('deny')));
    data.decision_reloads = i;
  }
  await audit('decision log');
  await screenshot('console-decisions');
  await page.selectOption('#decision', 'deny');
  await clickAndWait('form.toolbar button[type=submit]');
  data.decisions_denied_only = await rows('#decisions');
  await audit('decision log (deny only)');

  // --- the other pages -------------------------------------------------------------------------
  step('zone overview');
  await visit('zone overview', zone);
  data.charts = await page.locator('.charts svg[role=img]').count();
  await screenshot('console-zone-overview');

  step('try a request');
  await visit('try a request', `${zone}/try`);
  await page.selectOption('#set', { label: await page.locator('#set option').filter({ hasText: names.set }).first().innerText() });
  await page.fill('#client_id', data.client_id);
  await page.fill('#resource', names.resource_identifier);
  await clickAndWait('#try-submit');
  data.try_result = (await page.locator('#try-result').count())
    ? (await page.locator('#try-result').innerText()).trim() : null;
  data.try_alert = await alertText();
  await audit('try a request (result)');

  step('policy version 2 and the diff');
  await visit('policy editor (again)', `${zone}/policies/${encodeURIComponent(data.policy_id)}`);
  await page.fill('#cedar', `// ${params.cedar_comment}\n${params.cedar_good}`);
  await clickAndWait('#save-version');
  data.policy_v2_notice = await noticeText();
  data.policy_v2_alert = await alertText();
  await audit('policy editor (version 2)');
  await clickAndWait('#compare');
  data.diff = (await page.locator('#diff').count()) ? await page.locator('#diff').innerText() : null;
  await audit('policy versions compared');

  step('policy set version 2 as shadow');
  await visit('policy set (before version 2)', `${zone}/policy-sets/${encodeURIComponent(data.set_id)}`);
  for (const id of [data.policy_id, ...(reply.also_tick || [])]) {
    await page.locator(`[id="policy-${id}"]`).check();
  }
  await clickAndWait('#create-set-version');
  data.set_v2_notice = await noticeText();
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.locator('tr', { hasText: 'Version 2' }).locator('button', { hasText: 'Shadow' }).click(),
  ]);
  data.shadow_notice = await noticeText();
  data.shadow_alert = await alertText();
  data.set_versions_after_shadow = await rows('main table');
  await audit('policy set (version 2 shadow)');
  await screenshot('console-policy-set');

  step('secret');
  await visit('secrets (empty)', `${zone}/secrets`);
  await page.fill('#name', names.secret);
  await page.fill('#entity_id', data.resource_id);
  await page.selectOption('#data-type', 'token');
  await page.fill('#data-token', params.secret_value);
  await clickAndWait('#create-submit');
  data.secret_created = { status, url: page.url(), notice: await noticeText(), alert: await alertText() };
  data.secret_page_has_value = (await page.content()).includes(params.secret_value);
  await audit('secret');
  data.secret_saved = await saveUnchanged('#save');
  await visit('secrets', `${zone}/secrets`);
  data.secrets = await rows('main table');

  step('provider');
  await visit('providers (empty)', `${zone}/providers`);
  await page.fill('#name', names.provider);
  await page.fill('#identifier', names.provider_identifier);
  await page.fill('#client_id', 'walk-client');
  await page.fill('#client_secret', params.secret_value);
  await clickAndWait('#create-submit');
  data.provider_created = { status, url: page.url(), notice: await noticeText(), alert: await alertText() };
  data.provider_page_has_secret = (await page.content()).includes(params.secret_value);
  await audit('provider');
  data.provider_saved = await saveUnchanged('#save');

  step('zone settings');
  await visit('zone settings', `${zone}/settings`);
  data.settings_saved = await saveUnchanged('#save-settings');

  step('zone member');
  await visit('zone members (empty)', `${zone}/members`);
  await page.fill('#organization_user_id', params.member_id);
  await page.selectOption('#role', 'zone_viewer');
  await clickAndWait('#create-submit');
  data.member_created = { status, url: page.url(), notice: await noticeText(), alert: await alertText() };
  await audit('zone member');
  await visit('zone members', `${zone}/members`);
  data.members = await rows('main table');
  if (data.members[0]?.links[0]) {
    await visit('zone member (from the list)', data.members[0].links[0]);
    data.member_from_list = { status, notice: await noticeText(), title: await page.title() };
  }

  // --- the organization: an invitation (its link shown once), a service account's credential ---
  step('invite');
  await visit('invitations', '/console/invitations');
  await page.fill('#email', params.invitee);
  await page.selectOption('#role', 'org_member');
  await clickAndWait('#invite');
  data.invitation_notice = await noticeText();
  data.invitation_alert = await alertText();
  data.invitation_link = (await page.locator('code#invitation-link').count())
    ? (await page.locator('code#invitation-link').innerText()).trim() : null;
  await audit('invitation created (link shown)');

  step('service account');
  await visit('service accounts', '/console/service-accounts');
  await page.fill('#name', names.service_account);
  await clickAndWait('#create-service-account');
  data.service_account_id = idAfter('service-accounts');
  await audit('service account');
  await page.fill('#credential-name', 'walk');
  await clickAndWait('#create-sa-credential');
  data.sa_alert = await alertText();
  data.sa_client_id = (await page.locator('code#client-id').innerText()).trim();
  data.sa_client_secret = (await page.locator('code#client-secret').innerText()).trim();
  await audit('service account credential created (secret shown)');

  step('rotate signing key');
  await visit('signing keys', `${zone}/keys`);
  data.keys_before = (await rows('main table')).length;
  await clickAndWait('#rotate-keys'); // (its confirmation dialog is accepted)
  data.rotate_notice = await noticeText();
  data.keys_after = await rows('main table');
  await audit('signing keys (rotated)');

  step('change a role');
  await visit('people', '/console/members');
  const roleSelect = page.locator(`[id="role-${params.member_id}"]`);
  await roleSelect.selectOption('org_viewer');
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.locator('form', { has: roleSelect }).locator('button[type=submit]').click(),
  ]);
  data.role_notice = await noticeText();
  data.role_alert = await alertText();
  await audit('people (role changed)');

  for (const [name, url] of [
    ['credentials', `${zone}/application-credentials`],
    ['applications', `${zone}/applications`],
    ['resources', `${zone}/resources`],
    ['providers', `${zone}/providers`],
    ['secrets', `${zone}/secrets`],
    ['policies', `${zone}/policies`],
    ['policy set version 1', `${zone}/policy-sets/${encodeURIComponent(data.set_id)}/versions/${encodeURIComponent(data.set_version_id)}`],
    ['users', `${zone}/users`],
    ['sessions', `${zone}/sessions`],
    ['delegated grants', `${zone}/delegated-grants`],
    ['user agents', `${zone}/user-agents`],
    // (the platform zone: where the people of the organization sign in)
    ['platform zone users', `/console/zones/${encodeURIComponent(params.platform_zone_id)}/users`],
    ['platform zone sessions', `/console/zones/${encodeURIComponent(params.platform_zone_id)}/sessions`],
    ['sso', '/console/sso'],
    ['audit log', '/console/audit'],
  ]) {
    step(name);
    const p = await visit(name, url);
    if (p.status !== 200) throw new Error(`${name}: status ${p.status} at ${p.url}`);
  }
  data.audit = await rows('main table');
  await page.fill('#action', 'zones.create');
  await clickAndWait('form.toolbar button[type=submit]');
  data.audit_zones_create = await rows('main table');
  await audit('audit log (filtered)');
  await visit('applications (search)', `${zone}/applications`);
  await page.fill('#query', names.app.split(' ')[0]);
  await clickAndWait('form[role=search] button[type=submit]');
  data.app_search = await rows('main table');
  await page.fill('#query', 'no-such-application');
  await clickAndWait('form[role=search] button[type=submit]');
  data.app_search_none = await page.locator('main .empty').innerText().catch(() => null);
  await page.goto(`${base}${zone}/policy-sets/${encodeURIComponent(data.set_id)}/versions/${encodeURIComponent(data.set_version_id)}`, { waitUntil: 'load' });
  data.set_version_manifest = await rows('main table');
  data.set_version_headings = await page.locator('main h3').allInnerTexts();
  await page.goto(`${base}/console/zones/${encodeURIComponent(params.platform_zone_id)}/sessions`, { waitUntil: 'load' });
  data.platform_sessions = await rows('main table');
  if (data.platform_sessions[0]?.links[0]) {
    const p = await visit('platform zone session', data.platform_sessions[0].links[0]);
    data.session_page_status = p.status;
  }
  // --- the console under its own CSP ------------------------------------------------------------
  // The audited context bypasses the CSP (axe-core is injected inline). Here every console page
  // visited above loads again in a context that enforces it: Chromium logs each refused script,
  // style, image or frame to the console. Then a credential is made there, and its copy button,
  // shown only by the console's own script, copies the secret.
  step('csp');
  const strict = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  await strict.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])/, (route) => route.abort());
  await strict.addCookies(await context.cookies());
  const sp = await strict.newPage();
  sp.setDefaultTimeout(params.timeout_ms || 20000);
  data.csp_violations = [];
  sp.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) data.csp_violations.push({ url: sp.url(), text: m.text() });
  });
  const seenUrls = new Set();
  for (const entry of result.pages) {
    if (!entry.url.includes('/console/') || seenUrls.has(entry.url)) continue;
    seenUrls.add(entry.url);
    await sp.goto(entry.url, { waitUntil: 'load' });
  }
  data.csp_pages = seenUrls.size;
  await sp.goto(`${base}${zone}/applications/${encodeURIComponent(data.app_id)}`, { waitUntil: 'load' });
  await sp.selectOption('#type', 'password');
  await Promise.all([sp.waitForNavigation({ waitUntil: 'load' }), sp.click('#create-credential')]);
  const copy = sp.locator('button[data-copy=secret]');
  data.csp_copy_visible = await copy.isVisible();
  if (data.csp_copy_visible) {
    await copy.click();
    await sp.waitForFunction(() => document.querySelector('button[data-copy=secret]').textContent === 'Copied', null, { timeout: 5000 }).catch(() => {});
    data.csp_copy_label = (await copy.innerText()).trim();
    data.csp_copied = await sp.evaluate(() => navigator.clipboard.readText()).catch((e) => `error: ${e}`);
    data.csp_secret = (await sp.locator('code#secret').innerText()).trim();
  }
  await strict.close();

  step('sign out');
  await clickAndWait('#sign-out');
  data.signed_out = { url: page.url(), alert: await page.locator('[role=alert]').first().innerText().catch(() => null) };
  await audit('console sign-in (signed out)');
  await page.goto(`${base}/console/zones`, { waitUntil: 'load' });
  data.after_sign_out = page.url();

  step('done');
  result.outcome = 'done';
} catch (e) {
  result.outcome = e instanceof Stopped ? 'stopped' : 'exception';
  result.message = String(e && e.stack ? e.stack : e);
  if (page) result.data.url_at_end = page.url();
} finally {
  input.close();
  if (browser) await browser.close().catch(() => {});
}
process.stdout.write(`${JSON.stringify(result)}\n`);
