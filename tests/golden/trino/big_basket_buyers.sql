SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
LEFT JOIN (
  SELECT
    "r2"."customer_id" AS "k",
    AVG("r2"."amount") AS "v"
  FROM "main"."orders" AS "r2"
  WHERE
    NOT "r2"."customer_id" IS NULL
    AND (
      "r2"."ordered_at" IS NULL
      OR CAST("r2"."ordered_at" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
    )
    AND NOT COALESCE((
      "r2"."status" IN ('returned', 'cancelled')
    ), FALSE)
  GROUP BY
    "r2"."customer_id"
) AS "m3"
  ON "m3"."k" = "e1"."customer_id"
LEFT JOIN (
  SELECT
    "r4"."customer_id" AS "k",
    MAX("r4"."amount") AS "v"
  FROM "main"."orders" AS "r4"
  WHERE
    NOT "r4"."customer_id" IS NULL
    AND (
      "r4"."ordered_at" IS NULL
      OR CAST("r4"."ordered_at" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
    )
  GROUP BY
    "r4"."customer_id"
) AS "m5"
  ON "m5"."k" = "e1"."customer_id"
LEFT JOIN (
  SELECT
    "r6"."customer_id" AS "k",
    MIN("r6"."amount") AS "v"
  FROM "main"."orders" AS "r6"
  WHERE
    NOT "r6"."customer_id" IS NULL
    AND (
      "r6"."ordered_at" IS NULL
      OR CAST("r6"."ordered_at" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
    )
  GROUP BY
    "r6"."customer_id"
) AS "m7"
  ON "m7"."k" = "e1"."customer_id"
WHERE
  NOT "e1"."customer_id" IS NULL
  AND (
    COALESCE((
      "m3"."v" > 250
    ), FALSE)
    AND COALESCE((
      "m5"."v" >= 350
    ), FALSE)
    AND COALESCE((
      "m7"."v" >= 50 AND "m7"."v" <= 10000
    ), FALSE)
  );
