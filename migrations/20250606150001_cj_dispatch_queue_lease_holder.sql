-- Dispatch leases name their holder. A dispatcher claims a due row by writing its own
-- instance id here and moving `due_at` a lease length ahead; while it sends the comparison
-- it renews the lease (only rows it still holds), and every note it makes afterwards
-- (`sent`, `failed`, a back-off) touches only rows it still holds. Leases can then be short
-- (seconds): a dead instance's comparisons come back quickly, and a live instance's are
-- never taken from it. NULL: never claimed.
ALTER TABLE cj_dispatch_queue ADD COLUMN holder uuid;
