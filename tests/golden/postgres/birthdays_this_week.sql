SELECT
  "e1"."customer_id" AS "customer_id"
FROM "main"."customers" AS "e1"
WHERE
  NOT "e1"."customer_id" IS NULL
  AND (
    EXTRACT(MONTH FROM CAST("e1"."birthday" AS TIMESTAMP)) * 100 + EXTRACT(DAY FROM CAST("e1"."birthday" AS TIMESTAMP)) IN (1101, 1102, 1103, 1104, 1105, 1106, 1107)
    AND "e1"."birthday" < CAST('2008-01-01 00:00:00' AS TIMESTAMP)
  );
