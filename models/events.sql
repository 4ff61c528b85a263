{{ config(materialized='table') }}
-- About 20,000 web and email events over the last 120 days for customers 1..1800.
SELECT
  n AS event_id,
  (n * 104729) % 1800 + 1 AS customer_id,
  {{ ago('((n * 61) % 120) * 1440 + (n * 7) % 1440', 'minute') }} AS occurred_at,
  CASE ((n * 37) % 101) % 10 WHEN 0 THEN 'page_view' WHEN 1 THEN 'page_view' WHEN 2 THEN 'page_view'
              WHEN 3 THEN 'page_view' WHEN 4 THEN 'email_open' WHEN 5 THEN 'email_open'
              WHEN 6 THEN 'email_click' WHEN 7 THEN 'add_to_cart' WHEN 8 THEN 'add_to_cart'
              ELSE 'purchase' END AS event_name,
  CASE WHEN ((n * 37) % 101) % 10 < 4 THEN CASE WHEN n % 3 = 0 THEN 'home' ELSE CONCAT('product/', n % 50) END
       END AS page,
  CASE WHEN ((n * 37) % 101) % 10 IN (7, 8) THEN CAST((n * 13) % 60000 AS DECIMAL(10, 2)) / 100 END AS cart_value
FROM {{ ref('numbers') }}
WHERE n BETWEEN 1 AND 20000
