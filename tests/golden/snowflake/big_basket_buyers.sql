SELECT
  "E1"."CUSTOMER_ID" AS "CUSTOMER_ID"
FROM "MAIN"."CUSTOMERS" AS "E1"
LEFT JOIN (
  SELECT
    "R2"."CUSTOMER_ID" AS "K",
    AVG(
      CASE
        WHEN (
          "R2"."STATUS" IS NULL OR NOT "R2"."STATUS" IN ('returned', 'cancelled')
        )
        THEN "R2"."AMOUNT"
      END
    ) AS "V1",
    MAX("R2"."AMOUNT") AS "V2",
    MIN("R2"."AMOUNT") AS "V3"
  FROM "MAIN"."ORDERS" AS "R2"
  WHERE
    NOT "R2"."CUSTOMER_ID" IS NULL
    AND (
      "R2"."ORDERED_AT" IS NULL
      OR CAST("R2"."ORDERED_AT" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
    )
  GROUP BY
    "R2"."CUSTOMER_ID"
) AS "M3"
  ON "M3"."K" = "E1"."CUSTOMER_ID"
WHERE
  NOT "E1"."CUSTOMER_ID" IS NULL
  AND (
    "M3"."V1" > 250
    AND "M3"."V2" >= 350
    AND (
      "M3"."V3" >= 50 AND "M3"."V3" <= 10000
    )
  );
