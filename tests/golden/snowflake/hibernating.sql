SELECT
  "E1"."CUSTOMER_ID" AS "CUSTOMER_ID"
FROM "MAIN"."CUSTOMERS" AS "E1"
LEFT JOIN (
  SELECT
    "B2"."CUSTOMER_ID" AS "K",
    CASE
      WHEN "M5"."V1" IS NULL
      THEN NULL
      ELSE RANK() OVER (ORDER BY CASE WHEN "M5"."V1" IS NULL THEN 1 ELSE 0 END, "M5"."V1")
    END AS "R1",
    COUNT("M5"."V1") OVER () AS "C1",
    RANK() OVER (ORDER BY COALESCE("M5"."V2", 0)) AS "R2",
    COUNT(*) OVER () AS "C2",
    RANK() OVER (ORDER BY COALESCE("M5"."V3", 0)) AS "R3",
    COUNT(*) OVER () AS "C3"
  FROM "MAIN"."CUSTOMERS" AS "B2"
  LEFT JOIN (
    SELECT
      "R4"."CUSTOMER_ID" AS "K",
      MAX(CAST("R4"."ORDERED_AT" AS TIMESTAMP)) AS "V1",
      COUNT(*) AS "V2",
      SUM("R4"."AMOUNT") AS "V3"
    FROM "MAIN"."ORDERS" AS "R4"
    WHERE
      NOT "R4"."CUSTOMER_ID" IS NULL
      AND (
        "R4"."ORDERED_AT" IS NULL
        OR CAST("R4"."ORDERED_AT" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
      )
    GROUP BY
      "R4"."CUSTOMER_ID"
  ) AS "M5"
    ON "M5"."K" = "B2"."CUSTOMER_ID"
  WHERE
    NOT "B2"."CUSTOMER_ID" IS NULL
) AS "Q3"
  ON "Q3"."K" = "E1"."CUSTOMER_ID"
WHERE
  NOT "E1"."CUSTOMER_ID" IS NULL
  AND (
    5 * (
      "Q3"."R1" - 1
    ) < 2 * "Q3"."C1"
    AND 5 * (
      "Q3"."R2" - 1
    ) < 2 * "Q3"."C2"
    AND 5 * (
      "Q3"."R3" - 1
    ) < 2 * "Q3"."C3"
  );
