SELECT
  "E1"."CUSTOMER_ID" AS "CUSTOMER_ID",
  "E1"."EMAIL" AS "EMAIL",
  "E1"."FIRST_NAME" AS "FIRST_NAME",
  "E1"."LAST_NAME" AS "LAST_NAME"
FROM "MAIN"."CUSTOMERS" AS "E1"
LEFT JOIN (
  SELECT DISTINCT
    CAST("L4"."CUSTOMER_ID" AS VARCHAR) AS "K"
  FROM "MAIN"."HAND_PICKED" AS "L4"
  WHERE
    NOT "L4"."CUSTOMER_ID" IS NULL
) AS "K5"
  ON "K5"."K" = CAST("E1"."CUSTOMER_ID" AS VARCHAR)
LEFT JOIN (
  SELECT DISTINCT
    CAST("L6"."CUSTOMER_ID" AS VARCHAR) AS "K"
  FROM "MAIN"."VIP_BLOCKLIST" AS "L6"
  WHERE
    NOT "L6"."CUSTOMER_ID" IS NULL
) AS "K7"
  ON "K7"."K" = CAST("E1"."CUSTOMER_ID" AS VARCHAR)
LEFT JOIN (
  SELECT
    "R2"."CUSTOMER_ID" AS "K",
    SUM(CASE WHEN "R2"."STATUS" = 'completed' THEN "R2"."AMOUNT" END) AS "V1",
    COUNT(
      CASE
        WHEN CAST("R2"."ORDERED_AT" AS TIMESTAMP) > CAST('2025-11-01 06:00:00' AS TIMESTAMP)
        AND "R2"."STATUS" IN ('completed')
        THEN 1
      END
    ) AS "V2"
  FROM "MAIN"."ORDERS" AS "R2"
  WHERE
    NOT "R2"."CUSTOMER_ID" IS NULL
    AND (
      "R2"."ORDERED_AT" IS NULL
      OR CAST("R2"."ORDERED_AT" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
    )
    AND (
      "R2"."STATUS" = 'completed'
      OR (
        (
          CAST("R2"."ORDERED_AT" AS TIMESTAMP) > CAST('2025-11-01 06:00:00' AS TIMESTAMP)
          AND CAST("R2"."ORDERED_AT" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
        )
        AND "R2"."STATUS" IN ('completed')
      )
    )
  GROUP BY
    "R2"."CUSTOMER_ID"
) AS "M3"
  ON "M3"."K" = "E1"."CUSTOMER_ID"
LEFT JOIN (
  SELECT
    "B8"."CUSTOMER_ID" AS "K",
    CASE
      WHEN "M11"."V1" IS NULL
      THEN NULL
      ELSE RANK() OVER (ORDER BY CASE WHEN "M11"."V1" IS NULL THEN 1 ELSE 0 END, "M11"."V1")
    END AS "R1",
    COUNT("M11"."V1") OVER () AS "C1",
    RANK() OVER (ORDER BY COALESCE("M11"."V2", 0)) AS "R2",
    COUNT(*) OVER () AS "C2",
    RANK() OVER (ORDER BY COALESCE("M11"."V3", 0)) AS "R3",
    COUNT(*) OVER () AS "C3"
  FROM "MAIN"."CUSTOMERS" AS "B8"
  LEFT JOIN (
    SELECT
      "R10"."CUSTOMER_ID" AS "K",
      MAX(CAST("R10"."ORDERED_AT" AS TIMESTAMP)) AS "V1",
      COUNT(*) AS "V2",
      SUM("R10"."AMOUNT") AS "V3"
    FROM "MAIN"."ORDERS" AS "R10"
    WHERE
      NOT "R10"."CUSTOMER_ID" IS NULL
      AND (
        "R10"."ORDERED_AT" IS NULL
        OR CAST("R10"."ORDERED_AT" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
      )
    GROUP BY
      "R10"."CUSTOMER_ID"
  ) AS "M11"
    ON "M11"."K" = "B8"."CUSTOMER_ID"
  WHERE
    NOT "B8"."CUSTOMER_ID" IS NULL
) AS "Q9"
  ON "Q9"."K" = "E1"."CUSTOMER_ID"
WHERE
  NOT "E1"."CUSTOMER_ID" IS NULL
  AND (
    (
      (
        (
          COALESCE("M3"."V1", 0) >= 900 OR COALESCE("M3"."V2", 0) >= 4
        )
        OR NOT "K5"."K" IS NULL
      )
      AND "K7"."K" IS NULL
    )
    AND (
      (
        "Q9"."R1" IS NULL OR NOT 5 * (
          "Q9"."R1" - 1
        ) >= 3 * "Q9"."C1"
      )
      OR (
        "Q9"."R2" IS NULL OR NOT 5 * (
          "Q9"."R2" - 1
        ) >= 3 * "Q9"."C2"
      )
      OR (
        "Q9"."R3" IS NULL OR NOT 5 * (
          "Q9"."R3" - 1
        ) >= 3 * "Q9"."C3"
      )
    )
  );
