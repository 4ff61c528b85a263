SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
LEFT JOIN (
  SELECT
    "r2"."customer_id" AS "k",
    COUNT(
      CASE
        WHEN CAST("r2"."occurred_at" AS Nullable(DateTime64(6, 'UTC'))) < DATE_SUB(DAY, 14, now64(6, 'UTC'))
        AND "r2"."event_name" = 'page_view'
        THEN 1
      END
    ) AS "v1",
    COUNT(
      CASE
        WHEN CAST("r2"."occurred_at" AS Nullable(DateTime64(6, 'UTC'))) > DATE_SUB(DAY, 14, now64(6, 'UTC'))
        AND "r2"."event_name" = 'page_view'
        THEN 1
      END
    ) AS "v2",
    COUNT(CASE WHEN "r2"."event_name" = 'purchase' THEN 1 END) AS "v3"
  FROM "main"."events" AS "r2"
  WHERE
    NOT (
      "r2"."customer_id" IS NULL
    )
    AND (
      "r2"."occurred_at" IS NULL
      OR CAST("r2"."occurred_at" AS Nullable(DateTime64(6, 'UTC'))) <= now64(6, 'UTC')
    )
    AND (
      (
        CAST("r2"."occurred_at" AS Nullable(DateTime64(6, 'UTC'))) < DATE_SUB(DAY, 14, now64(6, 'UTC'))
        AND "r2"."event_name" = 'page_view'
      )
      OR (
        (
          CAST("r2"."occurred_at" AS Nullable(DateTime64(6, 'UTC'))) > DATE_SUB(DAY, 14, now64(6, 'UTC'))
          AND CAST("r2"."occurred_at" AS Nullable(DateTime64(6, 'UTC'))) <= now64(6, 'UTC')
        )
        AND "r2"."event_name" = 'page_view'
      )
      OR "r2"."event_name" = 'purchase'
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
    COALESCE("m3"."v1", 0) >= 1
    AND (
      NOT COALESCE("m3"."v2", 0) >= 1 AND NOT COALESCE("m3"."v3", 0) >= 1
    )
    AND (
      NOT (
        "e1"."last_name" IS NULL
      )
      AND CAST("e1"."last_name" AS Nullable(String)) <> ''
    )
  )
SETTINGS join_use_nulls = 1;
