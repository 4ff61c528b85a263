SELECT
  "E1"."CUSTOMER_ID" AS "CUSTOMER_ID"
FROM "MAIN"."CUSTOMERS" AS "E1"
LEFT JOIN (
  SELECT
    "R2"."CUSTOMER_ID" AS "K",
    COUNT(
      CASE
        WHEN CAST("R2"."OCCURRED_AT" AS TIMESTAMP) < DATEADD(DAY, 14 * -1, SYSDATE())
        AND "R2"."EVENT_NAME" = 'page_view'
        THEN 1
      END
    ) AS "V1",
    COUNT(
      CASE
        WHEN CAST("R2"."OCCURRED_AT" AS TIMESTAMP) > DATEADD(DAY, 14 * -1, SYSDATE())
        AND "R2"."EVENT_NAME" = 'page_view'
        THEN 1
      END
    ) AS "V2",
    COUNT(CASE WHEN "R2"."EVENT_NAME" = 'purchase' THEN 1 END) AS "V3"
  FROM "MAIN"."EVENTS" AS "R2"
  WHERE
    NOT "R2"."CUSTOMER_ID" IS NULL
    AND (
      "R2"."OCCURRED_AT" IS NULL OR CAST("R2"."OCCURRED_AT" AS TIMESTAMP) <= SYSDATE()
    )
    AND (
      (
        CAST("R2"."OCCURRED_AT" AS TIMESTAMP) < DATEADD(DAY, 14 * -1, SYSDATE())
        AND "R2"."EVENT_NAME" = 'page_view'
      )
      OR (
        (
          CAST("R2"."OCCURRED_AT" AS TIMESTAMP) > DATEADD(DAY, 14 * -1, SYSDATE())
          AND CAST("R2"."OCCURRED_AT" AS TIMESTAMP) <= SYSDATE()
        )
        AND "R2"."EVENT_NAME" = 'page_view'
      )
      OR "R2"."EVENT_NAME" = 'purchase'
    )
  GROUP BY
    "R2"."CUSTOMER_ID"
) AS "M3"
  ON "M3"."K" = "E1"."CUSTOMER_ID"
WHERE
  NOT "E1"."CUSTOMER_ID" IS NULL
  AND (
    COALESCE("M3"."V1", 0) >= 1
    AND (
      NOT COALESCE("M3"."V2", 0) >= 1 AND NOT COALESCE("M3"."V3", 0) >= 1
    )
    AND (
      NOT "E1"."LAST_NAME" IS NULL AND CAST("E1"."LAST_NAME" AS VARCHAR) <> ''
    )
  );
