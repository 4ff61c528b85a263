SELECT
  "e1"."customer_id" AS "customer_id",
  CASE
    WHEN (
      TO_NUMBER(
        SUBSTRING(MD5(CONCAT('newsletter_ab_test:', CAST("e1"."customer_id" AS VARCHAR))), 1, 8),
        'XXXXXXXX'
      ) % 10000
    ) < 1000
    THEN 'control'
    WHEN (
      TO_NUMBER(
        SUBSTRING(MD5(CONCAT('newsletter_ab_test:', CAST("e1"."customer_id" AS VARCHAR))), 1, 8),
        'XXXXXXXX'
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
LEFT JOIN (
  SELECT DISTINCT
    "e4"."customer_id" AS "k"
  FROM "main"."customers" AS "e4"
  LEFT JOIN (
    SELECT DISTINCT
      "e5"."customer_id" AS "k"
    FROM "main"."customers" AS "e5"
    WHERE
      NOT "e5"."customer_id" IS NULL
      AND (
        COALESCE((
          "e5"."suppressed" = TRUE
        ), FALSE)
        OR NOT COALESCE((
          "e5"."email_opt_in" = TRUE
        ), FALSE)
        OR NOT COALESCE((
          CHARINDEX('@', "e5"."email") > 0
        ), FALSE)
        OR COALESCE((
          REGEXP_LIKE("e5"."email", '^staff[0-9]+@')
        ), FALSE)
      )
  ) AS "k6"
    ON "k6"."k" = "e4"."customer_id"
  WHERE
    NOT "e4"."customer_id" IS NULL AND NOT NOT "k6"."k" IS NULL
) AS "k7"
  ON "k7"."k" = "e1"."customer_id"
WHERE
  NOT "e1"."customer_id" IS NULL
  AND (
    NOT "k3"."k" IS NULL AND NOT "k7"."k" IS NULL
  );
