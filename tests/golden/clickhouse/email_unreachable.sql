SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
WHERE
  NOT (
    "e1"."customer_id" IS NULL
  )
  AND (
    "e1"."suppressed" = TRUE
    OR (
      "e1"."email_opt_in" IS NULL OR NOT "e1"."email_opt_in" = TRUE
    )
    OR (
      "e1"."email" IS NULL OR NOT POSITION("e1"."email", '@') > 0
    )
    OR match("e1"."email", '^staff[0-9]+@')
  )
SETTINGS join_use_nulls = 1;
