SELECT
  "E1"."CUSTOMER_ID" AS "CUSTOMER_ID",
  "E1"."EMAIL" AS "EMAIL"
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
    "R2"."CUSTOMER_ID" AS "K",
    MIN(CAST("R2"."ORDERED_AT" AS TIMESTAMP)) AS "V1",
    MAX(CAST("R2"."ORDERED_AT" AS TIMESTAMP)) AS "V2",
    SUM(CASE WHEN "R2"."STATUS" = 'completed' THEN "R2"."AMOUNT" END) AS "V3",
    COUNT(
      CASE
        WHEN CAST("R2"."ORDERED_AT" AS TIMESTAMP) > CAST('2025-11-01 06:00:00' AS TIMESTAMP)
        AND "R2"."STATUS" IN ('completed')
        THEN 1
      END
    ) AS "V4"
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
LEFT JOIN (
  SELECT
    "B4"."CUSTOMER_ID" AS "K",
    CASE
      WHEN "M7"."V1" IS NULL
      THEN NULL
      ELSE RANK() OVER (ORDER BY CASE WHEN "M7"."V1" IS NULL THEN 1 ELSE 0 END, "M7"."V1")
    END AS "R1",
    COUNT("M7"."V1") OVER () AS "C1",
    RANK() OVER (ORDER BY COALESCE("M7"."V2", 0)) AS "R2",
    COUNT(*) OVER () AS "C2",
    RANK() OVER (ORDER BY COALESCE("M7"."V3", 0)) AS "R3",
    COUNT(*) OVER () AS "C3"
  FROM "MAIN"."CUSTOMERS" AS "B4"
  LEFT JOIN (
    SELECT
      "R6"."CUSTOMER_ID" AS "K",
      MAX(CAST("R6"."ORDERED_AT" AS TIMESTAMP)) AS "V1",
      COUNT(*) AS "V2",
      SUM("R6"."AMOUNT") AS "V3"
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
    ON "M7"."K" = "B4"."CUSTOMER_ID"
  WHERE
    NOT "B4"."CUSTOMER_ID" IS NULL
) AS "Q5"
  ON "Q5"."K" = "E1"."CUSTOMER_ID"
WHERE
  NOT "E1"."CUSTOMER_ID" IS NULL
  AND (
    (
      CAST("M3"."V1" AS TIMESTAMP) < CAST('2026-05-05 06:00:00' AS TIMESTAMP)
      AND (
        "M3"."V2" IS NULL
        OR NOT (
          CAST("M3"."V2" AS TIMESTAMP) > CAST('2026-08-03 06:00:00' AS TIMESTAMP)
          AND CAST("M3"."V2" AS TIMESTAMP) <= CAST('2026-11-01 06:00:00' AS TIMESTAMP)
        )
      )
    )
    AND (
      (
        (
          "Q5"."R1" IS NULL OR NOT 5 * (
            "Q5"."R1" - 1
          ) >= 3 * "Q5"."C1"
        )
        OR (
          "Q5"."R2" IS NULL OR NOT 5 * (
            "Q5"."R2" - 1
          ) >= 3 * "Q5"."C2"
        )
        OR (
          "Q5"."R3" IS NULL OR NOT 5 * (
            "Q5"."R3" - 1
          ) >= 3 * "Q5"."C3"
        )
      )
      AND (
        (
          (
            NOT COALESCE("M3"."V3", 0) >= 900 AND NOT COALESCE("M3"."V4", 0) >= 4
          )
          AND "K9"."K" IS NULL
        )
        OR NOT "K11"."K" IS NULL
      )
      AND (
        (
          "Q5"."R1" IS NULL OR NOT 5 * (
            "Q5"."R1" - 1
          ) < 2 * "Q5"."C1"
        )
        OR (
          "Q5"."R2" IS NULL OR NOT 5 * (
            "Q5"."R2" - 1
          ) >= 2 * "Q5"."C2"
        )
        OR (
          "Q5"."R3" IS NULL OR NOT 5 * (
            "Q5"."R3" - 1
          ) >= 2 * "Q5"."C3"
        )
      )
    )
  );
