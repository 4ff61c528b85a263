SELECT
  "E1"."CUSTOMER_ID" AS "CUSTOMER_ID",
  CASE
    WHEN (
      TO_NUMBER(
        SUBSTRING(MD5(CONCAT('newsletter_ab_test:', CAST("E1"."CUSTOMER_ID" AS VARCHAR))), 1, 8),
        'XXXXXXXX'
      ) % 10000
    ) < 1000
    THEN 'control'
    WHEN (
      TO_NUMBER(
        SUBSTRING(MD5(CONCAT('newsletter_ab_test:', CAST("E1"."CUSTOMER_ID" AS VARCHAR))), 1, 8),
        'XXXXXXXX'
      ) % 10000
    ) < 5500
    THEN 'variant_a'
    ELSE 'variant_b'
  END AS "SPLIT",
  "E1"."EMAIL" AS "EMAIL"
FROM "MAIN"."CUSTOMERS" AS "E1"
LEFT JOIN (
  SELECT DISTINCT
    CAST("L2"."CUSTOMER_ID" AS VARCHAR) AS "K"
  FROM "MAIN"."NEWSLETTER" AS "L2"
  WHERE
    NOT "L2"."CUSTOMER_ID" IS NULL
) AS "K3"
  ON "K3"."K" = CAST("E1"."CUSTOMER_ID" AS VARCHAR)
WHERE
  NOT "E1"."CUSTOMER_ID" IS NULL
  AND (
    NOT "K3"."K" IS NULL
    AND (
      (
        "E1"."SUPPRESSED" IS NULL OR NOT "E1"."SUPPRESSED" = TRUE
      )
      AND "E1"."EMAIL_OPT_IN" = TRUE
      AND CHARINDEX('@', "E1"."EMAIL") > 0
      AND (
        "E1"."EMAIL" IS NULL OR NOT REGEXP_INSTR("E1"."EMAIL", '^staff[0-9]+@') > 0
      )
    )
  );
