SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
WHERE
  NOT "e1"."customer_id" IS NULL
  AND (
    DATE_PART(MONTH, CAST("e1"."birthday" AS TIMESTAMP)) * 100 + DATE_PART(DAY, CAST("e1"."birthday" AS TIMESTAMP)) IN (1101, 1102, 1103, 1104, 1105, 1106, 1107)
    AND CAST("e1"."birthday" AS TIMESTAMP) < CAST('2008-01-01 00:00:00' AS TIMESTAMP)
  );
