SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
LEFT JOIN (
  SELECT
    "r2"."customer_id" AS "k",
    COUNT(*) AS "v"
  FROM "main"."events" AS "r2"
  WHERE
    NOT "r2"."customer_id" IS NULL
    AND (
      CAST("r2"."occurred_at" AS TIMESTAMP) <= GETDATE()
    )
    AND COALESCE(
      (
        CAST("r2"."occurred_at" AS TIMESTAMP) < (
          GETDATE() - INTERVAL '14 DAY'
        )
      ),
      FALSE
    )
    AND COALESCE((
      "r2"."event_name" = 'page_view'
    ), FALSE)
  GROUP BY
    "r2"."customer_id"
) AS "m3"
  ON "m3"."k" = "e1"."customer_id"
LEFT JOIN (
  SELECT
    "r4"."customer_id" AS "k",
    COUNT(*) AS "v"
  FROM "main"."events" AS "r4"
  WHERE
    NOT "r4"."customer_id" IS NULL
    AND (
      CAST("r4"."occurred_at" AS TIMESTAMP) <= GETDATE()
    )
    AND COALESCE(
      (
        CAST("r4"."occurred_at" AS TIMESTAMP) > (
          GETDATE() - INTERVAL '14 DAY'
        )
        AND CAST("r4"."occurred_at" AS TIMESTAMP) <= GETDATE()
      ),
      FALSE
    )
    AND COALESCE((
      "r4"."event_name" = 'page_view'
    ), FALSE)
  GROUP BY
    "r4"."customer_id"
) AS "m5"
  ON "m5"."k" = "e1"."customer_id"
LEFT JOIN (
  SELECT
    "r6"."customer_id" AS "k",
    COUNT(*) AS "v"
  FROM "main"."events" AS "r6"
  WHERE
    NOT "r6"."customer_id" IS NULL
    AND (
      "r6"."occurred_at" IS NULL OR CAST("r6"."occurred_at" AS TIMESTAMP) <= GETDATE()
    )
    AND COALESCE((
      "r6"."event_name" = 'purchase'
    ), FALSE)
  GROUP BY
    "r6"."customer_id"
) AS "m7"
  ON "m7"."k" = "e1"."customer_id"
WHERE
  NOT "e1"."customer_id" IS NULL
  AND (
    COALESCE((
      COALESCE("m3"."v", 0) >= 1
    ), FALSE)
    AND NOT (
      COALESCE((
        COALESCE("m5"."v", 0) >= 1
      ), FALSE)
      OR COALESCE((
        COALESCE("m7"."v", 0) >= 1
      ), FALSE)
    )
    AND NOT NOT COALESCE(
      (
        NOT "e1"."last_name" IS NULL AND CAST("e1"."last_name" AS VARCHAR(MAX)) <> ''
      ),
      FALSE
    )
  );
