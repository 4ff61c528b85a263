SELECT
  "e1"."customer_id" AS "customer_id",
  "e1"."email" AS "email"
FROM "main"."customers" AS "e1"
LEFT JOIN (
  SELECT
    "r2"."customer_id" AS "k",
    MIN(CAST("r2"."ordered_at" AS TIMESTAMP)) AS "v"
  FROM "main"."orders" AS "r2"
  WHERE
    NOT "r2"."customer_id" IS NULL
    AND (
      "r2"."ordered_at" IS NULL
      OR CAST("r2"."ordered_at" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
    )
  GROUP BY
    "r2"."customer_id"
) AS "m3"
  ON "m3"."k" = "e1"."customer_id"
LEFT JOIN (
  SELECT
    "r4"."customer_id" AS "k",
    MAX(CAST("r4"."ordered_at" AS TIMESTAMP)) AS "v"
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
WHERE
  NOT "e1"."customer_id" IS NULL
  AND (
    COALESCE(
      (
        CAST("m3"."v" AS TIMESTAMP) < CAST('2026-05-05 06:00:00' AS TIMESTAMP)
      ),
      FALSE
    )
    AND NOT COALESCE(
      (
        CAST("m5"."v" AS TIMESTAMP) > CAST('2026-08-03 06:00:00' AS TIMESTAMP)
        AND CAST("m5"."v" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
      ),
      FALSE
    )
  );
