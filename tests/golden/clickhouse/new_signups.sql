SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
WHERE
  NOT (
    "e1"."customer_id" IS NULL
  )
  AND (
    (
      CAST("e1"."signed_up_at" AS Nullable(DateTime64(6, 'UTC'))) > CAST('2026-09-02 06:00:00' AS Nullable(DateTime64(6, 'UTC')))
      AND CAST("e1"."signed_up_at" AS Nullable(DateTime64(6, 'UTC'))) <= CAST('2026-11-01 06:00:00' AS Nullable(DateTime64(6, 'UTC')))
    )
    AND (
      NOT (
        "e1"."email" IS NULL
      ) AND CAST("e1"."email" AS Nullable(String)) <> ''
    )
    AND CAST("e1"."signed_up_at" AS Nullable(DateTime64(6, 'UTC'))) >= CAST('2020-01-02 00:00:00' AS Nullable(DateTime64(6, 'UTC')))
  )
SETTINGS join_use_nulls = 1;
