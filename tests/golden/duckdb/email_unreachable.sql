SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
WHERE
  NOT "e1"."customer_id" IS NULL
  AND (
    COALESCE((
      "e1"."suppressed" = TRUE
    ), FALSE)
    OR NOT COALESCE((
      "e1"."email_opt_in" = TRUE
    ), FALSE)
    OR NOT COALESCE((
      STRPOS("e1"."email", '@') > 0
    ), FALSE)
    OR COALESCE((
      REGEXP_MATCHES("e1"."email", '^staff[0-9]+@')
    ), FALSE)
  );
