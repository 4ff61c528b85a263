{{ config(materialized='table') }}
-- About 6,000 orders over the last 400 days; customers 1..1900 order, the rest never do.
SELECT
  n AS order_id,
  (n * 7919) % 1900 + 1 AS customer_id,
  {{ ago('((n * 31) % 400) * 24 + n % 24', 'hour') }} AS ordered_at,
  CASE ((n * 37) % 101) % 10 WHEN 0 THEN 'returned' WHEN 1 THEN 'cancelled' ELSE 'completed' END AS status,
  CAST(((n * 37) % 40000 + 500) / 100.0 AS DECIMAL(10, 2)) AS amount  -- exact cents on every engine
FROM {{ ref('numbers') }}
WHERE n BETWEEN 1 AND 6000
