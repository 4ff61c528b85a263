SELECT
  "e1"."customer_id" AS "customer_id",
  "e1"."email" AS "email",
  "e1"."first_name" AS "first_name",
  "e1"."last_name" AS "last_name"
FROM "main"."customers" AS "e1"
LEFT JOIN (
  SELECT
    "r2"."customer_id" AS "k",
    SUM("r2"."amount") AS "v"
  FROM "main"."orders" AS "r2"
  WHERE
    NOT "r2"."customer_id" IS NULL
    AND (
      "r2"."ordered_at" IS NULL
      OR CAST("r2"."ordered_at" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
    )
    AND COALESCE((
      "r2"."status" = 'completed'
    ), FALSE)
  GROUP BY
    "r2"."customer_id"
) AS "m3"
  ON "m3"."k" = "e1"."customer_id"
LEFT JOIN (
  SELECT
    "r4"."customer_id" AS "k",
    COUNT(*) AS "v"
  FROM "main"."orders" AS "r4"
  WHERE
    NOT "r4"."customer_id" IS NULL
    AND (
      CAST("r4"."ordered_at" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
    )
    AND COALESCE(
      (
        CAST("r4"."ordered_at" AS TIMESTAMP) > CAST('2025-11-01 06:00:00' AS TIMESTAMP)
        AND CAST("r4"."ordered_at" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
      ),
      FALSE
    )
    AND COALESCE((
      "r4"."status" IN ('completed')
    ), FALSE)
  GROUP BY
    "r4"."customer_id"
) AS "m5"
  ON "m5"."k" = "e1"."customer_id"
LEFT JOIN (
  SELECT DISTINCT
    CAST("l6"."customer_id" AS VARCHAR) AS "k"
  FROM "main"."hand_picked" AS "l6"
  WHERE
    NOT "l6"."customer_id" IS NULL
) AS "k7"
  ON "k7"."k" = CAST("e1"."customer_id" AS VARCHAR)
LEFT JOIN (
  SELECT DISTINCT
    CAST("l8"."customer_id" AS VARCHAR) AS "k"
  FROM "main"."vip_blocklist" AS "l8"
  WHERE
    NOT "l8"."customer_id" IS NULL
) AS "k9"
  ON "k9"."k" = CAST("e1"."customer_id" AS VARCHAR)
WHERE
  NOT "e1"."customer_id" IS NULL
  AND (
    (
      (
        COALESCE((
          COALESCE("m3"."v", 0) >= 900
        ), FALSE)
        OR COALESCE((
          COALESCE("m5"."v", 0) >= 4
        ), FALSE)
      )
      OR NOT "k7"."k" IS NULL
    )
    AND NOT NOT "k9"."k" IS NULL
  );
