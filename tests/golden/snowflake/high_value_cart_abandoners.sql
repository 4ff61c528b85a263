SELECT
  "E1"."CUSTOMER_ID" AS "CUSTOMER_ID"
FROM "MAIN"."CUSTOMERS" AS "E1"
LEFT JOIN (
  SELECT
    "R2"."CUSTOMER_ID" AS "K",
    COUNT(
      CASE
        WHEN CAST("R2"."OCCURRED_AT" AS TIMESTAMP) > CAST('2026-10-25 06:00:00' AS TIMESTAMP)
        AND "R2"."EVENT_NAME" = 'add_to_cart'
        AND "R2"."CART_VALUE" > 300
        THEN 1
      END
    ) AS "V1",
    COUNT(
      CASE
        WHEN CAST("R2"."OCCURRED_AT" AS TIMESTAMP) > CAST('2026-10-25 06:00:00' AS TIMESTAMP)
        AND "R2"."EVENT_NAME" = 'purchase'
        THEN 1
      END
    ) AS "V2"
  FROM "MAIN"."EVENTS" AS "R2"
  WHERE
    NOT "R2"."CUSTOMER_ID" IS NULL
    AND CAST("R2"."OCCURRED_AT" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
    AND (
      (
        (
          CAST("R2"."OCCURRED_AT" AS TIMESTAMP) > CAST('2026-10-25 06:00:00' AS TIMESTAMP)
          AND CAST("R2"."OCCURRED_AT" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
        )
        AND (
          "R2"."EVENT_NAME" = 'add_to_cart' AND "R2"."CART_VALUE" > 300
        )
      )
      OR (
        (
          CAST("R2"."OCCURRED_AT" AS TIMESTAMP) > CAST('2026-10-25 06:00:00' AS TIMESTAMP)
          AND CAST("R2"."OCCURRED_AT" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
        )
        AND "R2"."EVENT_NAME" = 'purchase'
      )
    )
  GROUP BY
    "R2"."CUSTOMER_ID"
) AS "M3"
  ON "M3"."K" = "E1"."CUSTOMER_ID"
WHERE
  NOT "E1"."CUSTOMER_ID" IS NULL
  AND (
    COALESCE("M3"."V1", 0) >= 1
    AND COALESCE("M3"."V2", 0) = 0
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
