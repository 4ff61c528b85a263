SELECT
  "e1"."customer_id" AS "customer_id",
  CASE
    WHEN (
      FROM_BASE(
        SUBSTR(
          LOWER(
            TO_HEX(
              MD5(
                TO_UTF8(
                  CONCAT(CAST('newsletter_ab_test:' AS VARCHAR), CAST("e1"."customer_id" AS VARCHAR))
                )
              )
            )
          ),
          1,
          8
        ),
        16
      ) % 10000
    ) < 1000
    THEN 'control'
    WHEN (
      FROM_BASE(
        SUBSTR(
          LOWER(
            TO_HEX(
              MD5(
                TO_UTF8(
                  CONCAT(CAST('newsletter_ab_test:' AS VARCHAR), CAST("e1"."customer_id" AS VARCHAR))
                )
              )
            )
          ),
          1,
          8
        ),
        16
      ) % 10000
    ) < 5500
    THEN 'variant_a'
    ELSE 'variant_b'
  END AS "split",
  "e1"."email" AS "email"
FROM "main"."customers" AS "e1"
LEFT JOIN (
  SELECT DISTINCT
    CAST("l2"."customer_id" AS VARCHAR) AS "k"
  FROM "main"."newsletter" AS "l2"
  WHERE
    NOT "l2"."customer_id" IS NULL
) AS "k3"
  ON "k3"."k" = CAST("e1"."customer_id" AS VARCHAR)
WHERE
  NOT "e1"."customer_id" IS NULL
  AND (
    NOT "k3"."k" IS NULL
    AND (
      (
        "e1"."suppressed" IS NULL OR NOT "e1"."suppressed" = TRUE
      )
      AND "e1"."email_opt_in" = TRUE
      AND STRPOS("e1"."email", '@') > 0
      AND (
        "e1"."email" IS NULL OR NOT REGEXP_LIKE("e1"."email", '^staff[0-9]+@')
      )
    )
  );
