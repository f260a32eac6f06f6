-- login_throttle is keyed by (email, address block) from now on. Its rows are transient (forgotten
-- 24 h after an attempt), so the table is recreated rather than altered: the drop forgets the
-- attempts counted before this deploy (each email gets its free attempts again, once).
DROP TABLE "login_throttle";--> statement-breakpoint
CREATE TABLE "login_throttle" (
	"email" text NOT NULL,
	"block" text NOT NULL,
	"attempts" integer NOT NULL,
	"last_attempt_at" timestamp with time zone NOT NULL,
	CONSTRAINT "login_throttle_email_block_pk" PRIMARY KEY("email","block")
);
--> statement-breakpoint
CREATE INDEX "login_throttle_last_attempt" ON "login_throttle" USING btree ("last_attempt_at");
