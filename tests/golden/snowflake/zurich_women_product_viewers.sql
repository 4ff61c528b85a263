SELECT
  "e1"."customer_id" AS "customer_id",
  "e1"."email" AS "email",
  "e1"."city" AS "city"
FROM "main"."customers" AS "e1"
LEFT JOIN (
  SELECT
    "r2"."customer_id" AS "k",
    COUNT(*) AS "v"
  FROM "main"."events" AS "r2"
  WHERE
    NOT "r2"."customer_id" IS NULL
    AND (
      CAST("r2"."occurred_at" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
    )
    AND COALESCE(
      (
        CAST("r2"."occurred_at" AS TIMESTAMP) > CAST('2026-10-02 06:00:00' AS TIMESTAMP)
        AND CAST("r2"."occurred_at" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
      ),
      FALSE
    )
    AND (
      COALESCE((
        "r2"."event_name" = 'page_view'
      ), FALSE)
      AND COALESCE((
        LEFT("r2"."page", 8) = 'product/'
      ), FALSE)
    )
  GROUP BY
    "r2"."customer_id"
) AS "m3"
  ON "m3"."k" = "e1"."customer_id"
WHERE
  NOT "e1"."customer_id" IS NULL
  AND (
    COALESCE((
      "e1"."gender" = 'female'
    ), FALSE)
    AND COALESCE((
      LOWER("e1"."city") = LOWER('zurich')
    ), FALSE)
    AND COALESCE((
      COALESCE("m3"."v", 0) >= 1
    ), FALSE)
  );
