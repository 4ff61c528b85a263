SELECT
  "E1"."CUSTOMER_ID" AS "CUSTOMER_ID",
  COALESCE("M7"."V3", 0) AS "LIFETIME_SPEND",
  "M7"."V4" AS "LAST_ORDER_AT"
FROM "MAIN"."CUSTOMERS" AS "E1"
LEFT JOIN (
  SELECT DISTINCT
    CAST("L8"."CUSTOMER_ID" AS VARCHAR) AS "K"
  FROM "MAIN"."HAND_PICKED" AS "L8"
  WHERE
    NOT "L8"."CUSTOMER_ID" IS NULL
) AS "K9"
  ON "K9"."K" = CAST("E1"."CUSTOMER_ID" AS VARCHAR)
LEFT JOIN (
  SELECT DISTINCT
    CAST("L10"."CUSTOMER_ID" AS VARCHAR) AS "K"
  FROM "MAIN"."VIP_BLOCKLIST" AS "L10"
  WHERE
    NOT "L10"."CUSTOMER_ID" IS NULL
) AS "K11"
  ON "K11"."K" = CAST("E1"."CUSTOMER_ID" AS VARCHAR)
LEFT JOIN (
  SELECT
    "R6"."CUSTOMER_ID" AS "K",
    SUM(CASE WHEN "R6"."STATUS" = 'completed' THEN "R6"."AMOUNT" END) AS "V1",
    COUNT(
      CASE
        WHEN CAST("R6"."ORDERED_AT" AS TIMESTAMP) > CAST('2025-11-01 06:00:00' AS TIMESTAMP)
        AND "R6"."STATUS" IN ('completed')
        THEN 1
      END
    ) AS "V2",
    SUM("R6"."AMOUNT") AS "V3",
    MAX(CAST("R6"."ORDERED_AT" AS TIMESTAMP)) AS "V4"
  FROM "MAIN"."ORDERS" AS "R6"
  WHERE
    NOT "R6"."CUSTOMER_ID" IS NULL
    AND (
      "R6"."ORDERED_AT" IS NULL
      OR CAST("R6"."ORDERED_AT" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
    )
  GROUP BY
    "R6"."CUSTOMER_ID"
) AS "M7"
  ON "M7"."K" = "E1"."CUSTOMER_ID"
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
    (
      5 * (
        "Q3"."R1" - 1
      ) < 2 * "Q3"."C1"
      AND 5 * (
        "Q3"."R2" - 1
      ) >= 2 * "Q3"."C2"
      AND 5 * (
        "Q3"."R3" - 1
      ) >= 2 * "Q3"."C3"
    )
    AND (
      (
        (
          "Q3"."R1" IS NULL OR NOT 5 * (
            "Q3"."R1" - 1
          ) >= 3 * "Q3"."C1"
        )
        OR (
          "Q3"."R2" IS NULL OR NOT 5 * (
            "Q3"."R2" - 1
          ) >= 3 * "Q3"."C2"
        )
        OR (
          "Q3"."R3" IS NULL OR NOT 5 * (
            "Q3"."R3" - 1
          ) >= 3 * "Q3"."C3"
        )
      )
      AND (
        (
          (
            NOT COALESCE("M7"."V1", 0) >= 900 AND NOT COALESCE("M7"."V2", 0) >= 4
          )
          AND "K9"."K" IS NULL
        )
        OR NOT "K11"."K" IS NULL
      )
    )
  );
