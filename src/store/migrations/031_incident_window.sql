-- Outage-aware grace (issue #18 item 2): the technical failures that revealed an incident (those in
-- the detection window before it opened) and those made while it was open belong to it. They are
-- not the card's: they do not count against the invoice's automatic attempts (core/dunning.ts
-- givenBack), and the retries they used are planned again. The store reads which incident an
-- attempt belongs to from its time and card (loadStates); the incident keeps where its window began.
-- Incidents opened before this migration: their window is taken to start at opened_at.
ALTER TABLE incidents ADD COLUMN window_from timestamptz;
-- How many times in a row its scope reopened right after a close: the incident then stays open at
-- least one detection window doubled that many times (core/incidents.ts minOpenMinutes), so an
-- issuer outage, whose declines leave the window while renewd holds its attempts, does not flap.
ALTER TABLE incidents ADD COLUMN reopens int NOT NULL DEFAULT 0;
