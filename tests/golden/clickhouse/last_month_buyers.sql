SELECT
  "e1"."customer_id" AS "customer_id",
  COALESCE("m3"."v3", 0) AS "completed_last_month"
FROM "main"."customers" AS "e1"
LEFT JOIN (
  SELECT
    "r2"."customer_id" AS "k",
    COUNT(
      CASE
        WHEN (
          CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC'))) >= CAST('2026-10-01 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
          AND CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC'))) < CAST('2026-11-01 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
        )
        AND "r2"."status" = 'completed'
        THEN 1
      END
    ) AS "v1",
    COUNT(
      CASE
        WHEN CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC'))) >= CAST('2026-01-01 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
        AND CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC'))) < CAST('2026-01-02 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
        THEN 1
      END
    ) AS "v2",
    SUM(
      CASE
        WHEN (
          CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC'))) >= CAST('2026-10-01 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
          AND CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC'))) < CAST('2026-11-01 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
        )
        AND "r2"."status" = 'completed'
        THEN "r2"."amount"
      END
    ) AS "v3"
  FROM "main"."orders" AS "r2"
  WHERE
    NOT (
      "r2"."customer_id" IS NULL
    )
    AND CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC'))) <= CAST('2026-11-01 06:00:00' AS Nullable(DateTime64(6, 'UTC')))
    AND (
      (
        (
          CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC'))) >= CAST('2026-10-01 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
          AND CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC'))) < CAST('2026-11-01 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
        )
        AND "r2"."status" = 'completed'
      )
      OR (
        CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC'))) >= CAST('2026-01-01 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
        AND CAST("r2"."ordered_at" AS Nullable(DateTime64(6, 'UTC'))) < CAST('2026-01-02 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
      )
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
    COALESCE("m3"."v1", 0) >= 1 OR COALESCE("m3"."v2", 0) >= 1
  )
SETTINGS join_use_nulls = 1;
