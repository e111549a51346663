-- The decision log tallies identical decisions per flush window: one row stands for
-- `evaluations` decisions made between `created_at` and `last_at`.
ALTER TABLE policy_decisions ADD COLUMN last_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE policy_decisions ADD COLUMN evaluations BIGINT NOT NULL DEFAULT 1;
UPDATE policy_decisions SET last_at = created_at;
