SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
LEFT JOIN (
  SELECT
    "r2"."customer_id" AS "k",
    COUNT(*) FILTER(WHERE
      "r2"."occurred_at" < (
        CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS TIMESTAMP) - INTERVAL 14 DAY
      )
      AND "r2"."event_name" = 'page_view') AS "v1",
    COUNT(*) FILTER(WHERE
      "r2"."occurred_at" > (
        CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS TIMESTAMP) - INTERVAL 14 DAY
      )
      AND "r2"."event_name" = 'page_view') AS "v2",
    COUNT(*) FILTER(WHERE
      "r2"."event_name" = 'purchase') AS "v3"
  FROM "main"."events" AS "r2"
  WHERE
    NOT "r2"."customer_id" IS NULL
    AND (
      "r2"."occurred_at" IS NULL
      OR "r2"."occurred_at" <= CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS TIMESTAMP)
    )
    AND (
      (
        "r2"."occurred_at" < (
          CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS TIMESTAMP) - INTERVAL 14 DAY
        )
        AND "r2"."event_name" = 'page_view'
      )
      OR (
        (
          "r2"."occurred_at" > (
            CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS TIMESTAMP) - INTERVAL 14 DAY
          )
          AND "r2"."occurred_at" <= CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS TIMESTAMP)
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
  NOT "e1"."customer_id" IS NULL
  AND (
    COALESCE("m3"."v1", 0) >= 1
    AND (
      NOT COALESCE("m3"."v2", 0) >= 1 AND NOT COALESCE("m3"."v3", 0) >= 1
    )
    AND (
      NOT "e1"."last_name" IS NULL AND CAST("e1"."last_name" AS TEXT) <> ''
    )
  );
