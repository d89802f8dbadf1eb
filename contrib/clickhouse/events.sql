-- SPDX-License-Identifier: Apache-2.0
-- tracewire events in ClickHouse, for `EventsTrace --ship URL --ship-format clickhouse`.
-- Works on ClickHouse 18.16 (Debian 12's clickhouse-server) and later.
--
-- The shipper sends one JSONEachRow row per event with nested objects flattened
-- (process.pid -> process_pid, creds.euid -> creds_euid), booleans as 1/0, nulls
-- left out (the column default applies), "time" as a DateTime plus "time_ns"
-- (18.16 has no DateTime64), and "raw": the whole original NDJSON line. It
-- inserts with input_format_skip_unknown_fields=1, so this table picks the
-- columns it wants; every other key (event types added later, network fields,
-- termios, env, ...) is still in `raw` (visitParamExtract*/JSONExtract*).
-- Columns whose key has different types in different events (syscall, change,
-- request) are left to `raw` on purpose: a row must never fail to parse.
--
-- Delivery is at least once: a batch whose answer was lost is sent again with
-- the same event_id values. ReplacingMergeTree drops such repeats when parts
-- merge; for exact counts before that, use FINAL or uniqExact(event_id).
--
--   clickhouse-client --multiquery < contrib/clickhouse/events.sql

CREATE DATABASE IF NOT EXISTS tracewire;

CREATE TABLE IF NOT EXISTS tracewire.events
(
    event_id String,                 -- "<boot id>-<sequence>": unique per host and boot
    host String,
    event_type String,
    time DateTime('UTC'),            -- wall clock, seconds
    time_ns UInt64,                  -- wall clock, ns since the epoch
    ts_mono_ns UInt64,
    ts_boot_ns UInt64,
    cpu UInt32,

    process_pid UInt32,
    process_tid UInt32,
    process_ppid UInt32,
    process_pgid UInt32,
    process_sid UInt32,
    process_ns_pid UInt32,
    process_start_time_ns UInt64,
    comm String,

    -- PROCESS_EXEC, PROCESS_SNAPSHOT
    filename String,
    interpreter String,
    executable String,
    argv Array(String),
    cwd String,
    creds_ruid UInt32,
    creds_rgid UInt32,
    creds_euid UInt32,
    creds_egid UInt32,
    creds_suid UInt32,
    creds_sgid UInt32,
    creds_cap_permitted UInt64,
    creds_cap_effective UInt64,
    tty_major UInt32,
    tty_minor UInt32,
    tty_name String,
    namespaces_pid UInt64,
    namespaces_mnt UInt64,
    namespaces_net UInt64,
    namespaces_user UInt64,
    cgroup_id UInt64,
    cgroup_hierarchy String,
    cgroup_path String,
    setuid UInt8,
    setgid UInt8,
    memfd UInt8,

    -- PROCESS_FORK
    parent_pid UInt32,
    parent_start_time_ns UInt64,

    -- PROCESS_EXIT
    exit_code Int32,
    exit_status Int64,
    signal UInt32,
    core_dumped UInt8,

    -- file events
    path String,
    old_path String,
    new_path String,
    symlink_target String,
    link_source String,
    file_type String,
    file_mode String,
    file_inode UInt64,
    file_size UInt64,
    file_uid UInt32,
    file_gid UInt32,
    mount_ns UInt64,

    -- the process calls
    target_pid UInt32,
    fsuid UInt32,
    fsgid UInt32,

    raw String                       -- the complete event line, every key
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(time)
ORDER BY (event_type, time, event_id);
