SELECT
  "e1"."customer_id" AS "customer_id",
  "e1"."email" AS "email"
FROM "main"."customers" AS "e1"
LEFT JOIN (
  SELECT
    "r2"."customer_id" AS "k",
    MIN(CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC')))) AS "v1",
    MAX(CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC')))) AS "v2"
  FROM "main"."orders" AS "r2"
  WHERE
    NOT (
      "r2"."customer_id" IS NULL
    )
    AND (
      "r2"."ordered_at" IS NULL
      OR CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC'))) <= CAST('2026-11-01 06:00:00' AS Nullable(DateTime64(6, 'UTC')))
    )
  GROUP BY
    "r2"."customer_id"
) AS "m3"
  ON "m3"."k" = "e1"."customer_id"
WHERE
  NOT (
    "e1"."customer_id" IS NULL
  )
  AND (
    CAST("m3"."v1" AS Nullable(DateTime64(6, 'UTC'))) < CAST('2026-05-05 06:00:00' AS Nullable(DateTime64(6, 'UTC')))
    AND (
      "m3"."v2" IS NULL
      OR NOT (
        CAST("m3"."v2" AS Nullable(DateTime64(6, 'UTC'))) > CAST('2026-08-03 06:00:00' AS Nullable(DateTime64(6, 'UTC')))
        AND CAST("m3"."v2" AS Nullable(DateTime64(6, 'UTC'))) <= CAST('2026-11-01 06:00:00' AS Nullable(DateTime64(6, 'UTC')))
      )
    )
  )
SETTINGS join_use_nulls = 1;
