SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
WHERE
  NOT (
    "e1"."customer_id" IS NULL
  )
  AND (
    (
      "e1"."suppressed" IS NULL OR NOT "e1"."suppressed" = TRUE
    )
    AND "e1"."email_opt_in" = TRUE
    AND POSITION("e1"."email", '@') > 0
    AND (
      "e1"."email" IS NULL OR NOT match("e1"."email", '^staff[0-9]+@')
    )
  )
SETTINGS join_use_nulls = 1;
