#!/usr/bin/env python3
"""Checks behind DATABRICKS_NOTES.md, run against a started Databricks stand-in through its front.

  . DIR/env   # from scripts/servers/databricks.sh start
  .venv-databricks/bin/python scripts/servers/databricks/check.py features
  .venv-databricks/bin/python scripts/servers/databricks/check.py cancel
  .venv-databricks/bin/python scripts/servers/databricks/check.py lock-race [ROUNDS] [SESSIONS]
  .venv-databricks/bin/python scripts/servers/databricks/check.py insert-race [ROUNDS] [SESSIONS]
  .venv-databricks/bin/python scripts/servers/databricks/check.py init-race [ROUNDS] [SESSIONS]

features     runs the statements the notes list, printing each answer (hasResultSet,
             modifiedRowCount, result columns and rows, or sqlState and message).
cancel       a 60 s statement run asynchronously, cancelled after 3 s: CancelOperation's answer
             and GetOperationStatus after it.
lock-race    SESSIONS sessions (16) at once run jetbase's lock UPDATE on a one-row jetbase_lock,
             then read the row back; per round: who believes they won, errors, commits that
             flipped the row (from the table's snapshots).
insert-race  SESSIONS sessions each INSERT one row into one table at once: lost commits show as
             fewer rows than successful INSERTs.
init-race    SESSIONS sessions at once insert the lock row when missing, three ways (MERGE with only
             WHEN NOT MATCHED, INSERT ... WHERE NOT EXISTS, MERGE with a WHEN MATCHED clause too):
             rows with id = 1 afterwards.
The URL's port and the token come from JETBASE_TEST_DATABRICKS_URL/_TOKEN/_HTTP_PATH.
"""
import collections
import os
import re
import sys
import threading
import time
from urllib.parse import urlsplit

import tcli
from TCLIService import ttypes

URL = urlsplit(os.environ["JETBASE_TEST_DATABRICKS_URL"])
PORT, TOKEN = URL.port, os.environ["JETBASE_TEST_DATABRICKS_TOKEN"]
HTTP_PATH = os.environ["JETBASE_TEST_DATABRICKS_HTTP_PATH"]
STATES = ttypes.TOperationState._VALUES_TO_NAMES


class Session:
    def __init__(self):
        self.c, self.t = tcli.client(PORT, HTTP_PATH, TOKEN)
        self.h = self.c.OpenSession(ttypes.TOpenSessionReq()).sessionHandle

    def run(self, sql):
        """(rows or None, handle, None) or (None, None, the error TStatus)."""
        e = self.c.ExecuteStatement(ttypes.TExecuteStatementReq(sessionHandle=self.h, statement=sql))
        if not tcli.ok(e.status):
            return None, None, e.status
        op = e.operationHandle
        rows = tcli.rows(self.c, op) if op.hasResultSet else None
        self.c.CloseOperation(ttypes.TCloseOperationReq(operationHandle=op))
        return rows, op, None

    def must(self, sql):
        rows, _, err = self.run(sql)
        if err:
            raise RuntimeError(f"{sql}: {err.errorMessage}")
        return rows

    def close(self):
        self.c.CloseSession(ttypes.TCloseSessionReq(sessionHandle=self.h))
        self.t.close()


def first_line(status):
    """(sqlState, the message's first line with file paths as <file>, so that alike errors group)."""
    line = (status.errorMessage or "").split("\n")[0]
    return status.sqlState, re.sub(r"file:[^\s\]',]+", "<file>", line)


def features():
    s = Session()
    for sql in [
        "CREATE SCHEMA IF NOT EXISTS chk", "CREATE DATABASE IF NOT EXISTS chk2", "SET CATALOG spark_catalog",
        "USE CATALOG spark_catalog", "USE chk",
        "SELECT current_catalog(), current_schema(), current_database(), current_user(), version()",
        "SELECT CURRENT_TIMESTAMP()",
        "CREATE TABLE jetbase_lock (id INT, is_locked BOOLEAN NOT NULL, locked_at TIMESTAMP, process_id STRING)",
        "SHOW TBLPROPERTIES jetbase_lock",
        "INSERT INTO jetbase_lock (id, is_locked) VALUES (1, FALSE)",
        "INSERT INTO jetbase_lock VALUES (1, FALSE, NULL, NULL)",
        "MERGE INTO jetbase_lock AS target USING (SELECT 2 AS id, FALSE AS is_locked) AS source "
        "ON target.id = source.id WHEN NOT MATCHED THEN INSERT (id, is_locked, locked_at, process_id) "
        "VALUES (source.id, source.is_locked, NULL, NULL)",
        "UPDATE jetbase_lock SET is_locked = TRUE, locked_at = CURRENT_TIMESTAMP(), process_id = 'p1' "
        "WHERE id = 1 AND is_locked = FALSE",
        "DELETE FROM jetbase_lock WHERE id = 2",
        "SELECT * FROM jetbase_lock",
        "SHOW TABLES IN chk LIKE 'jetbase_lock'", "SHOW TABLES IN chk LIKE 'nothing'",
        "CREATE TABLE mig (id INT)", "INSERT INTO mig VALUES (1)", "DROP TABLE mig", "CREATE TABLE mig (id INT)",
        "SELECT count(*) FROM mig",
        "CREATE TABLE pq (id INT) USING parquet", "INSERT INTO pq VALUES (1)", "DROP TABLE pq",
        "CREATE TABLE pq (id INT) USING parquet", "SELECT count(*) FROM pq",
        "CREATE TABLE ident (id BIGINT GENERATED ALWAYS AS IDENTITY, name STRING)",
        "CREATE TABLE dflt (id INT, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP())",
        "SELECT table_name FROM INFORMATION_SCHEMA.TABLES",
        "CREATE TABLE dl (id INT) USING delta",
        "SELECT 1/0",
    ]:
        print(f"== {sql}")
        e = s.c.ExecuteStatement(ttypes.TExecuteStatementReq(sessionHandle=s.h, statement=sql))
        if not tcli.ok(e.status):
            print(f"   refused: sqlState={e.status.sqlState}: {first_line(e.status)[1]}")
            continue
        op = e.operationHandle
        line = f"   hasResultSet={op.hasResultSet} modifiedRowCount={op.modifiedRowCount}"
        if op.hasResultSet:
            meta = s.c.GetResultSetMetadata(ttypes.TGetResultSetMetadataReq(operationHandle=op))
            line += f" columns={[c.columnName for c in meta.schema.columns]} rows={tcli.rows(s.c, op)[:10]}"
        print(line)
        s.c.CloseOperation(ttypes.TCloseOperationReq(operationHandle=op))
    s.close()


def cancel():
    s = Session()
    sql = "SELECT reflect('java.lang.Thread', 'sleep', CAST(60000 AS BIGINT))"
    e = s.c.ExecuteStatement(ttypes.TExecuteStatementReq(sessionHandle=s.h, statement=sql, runAsync=True))
    op = e.operationHandle
    time.sleep(3)
    st = s.c.GetOperationStatus(ttypes.TGetOperationStatusReq(operationHandle=op))
    print(f"{sql}: after 3 s {STATES[st.operationState]}")
    t0 = time.monotonic()
    r = s.c.CancelOperation(ttypes.TCancelOperationReq(operationHandle=op))
    st = s.c.GetOperationStatus(ttypes.TGetOperationStatusReq(operationHandle=op))
    print(f"CancelOperation: statusCode {r.status.statusCode}; then GetOperationStatus: {STATES[st.operationState]}, "
          f"sqlState {st.sqlState}, errorMessage {st.errorMessage!r} ({time.monotonic() - t0:.2f} s)")
    f = s.c.FetchResults(ttypes.TFetchResultsReq(operationHandle=op, orientation=0, maxRows=1))
    print(f"FetchResults: statusCode {f.status.statusCode}: {f.status.errorMessage}")
    t0 = time.monotonic()
    print(f"next SELECT 1: {s.must('SELECT 1')} in {time.monotonic() - t0:.2f} s")
    s.close()


def race(rounds, n, setup, statement, after):
    """rounds x: setup(admin), then n sessions run statement(i) at once; after(admin, results)."""
    admin = Session()
    for rnd in range(rounds):
        setup(admin)
        sessions = [Session() for _ in range(n)]
        barrier = threading.Barrier(n)
        results = [None] * n

        def worker(i):
            barrier.wait()
            s = sessions[i]
            _, _, err = s.run(statement(rnd, i))
            results[i] = (err, s)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after(rnd, admin, results, time.monotonic() - t0)
        for s in sessions:
            s.close()
    admin.close()


def lock_race(rounds, n):
    errors = collections.Counter()
    counts = collections.Counter()

    def setup(a):
        a.must("CREATE SCHEMA IF NOT EXISTS chk_race")
        a.must("DROP TABLE IF EXISTS chk_race.jetbase_lock")
        a.must("CREATE TABLE chk_race.jetbase_lock (id INT, is_locked BOOLEAN NOT NULL, locked_at TIMESTAMP, "
               "process_id STRING)")
        a.must("INSERT INTO chk_race.jetbase_lock VALUES (1, FALSE, NULL, NULL)")

    def statement(rnd, i):
        return (f"UPDATE chk_race.jetbase_lock SET is_locked = TRUE, locked_at = CURRENT_TIMESTAMP(), "
                f"process_id = 'p{rnd}-{i}' WHERE id = 1 AND is_locked = FALSE")

    def after(rnd, a, results, wall):
        winners = []
        for i, (err, s) in enumerate(results):
            if err:
                errors[first_line(err)] += 1
            elif s.must("SELECT process_id FROM chk_race.jetbase_lock WHERE id = 1") == [[f"p{rnd}-{i}"]]:
                winners.append(i)
        snaps = a.must("SELECT summary['deleted-records'] FROM chk_race.jetbase_lock.snapshots")
        flips = sum(1 for (d,) in snaps if d not in (None, "0"))
        counts[(len(winners), flips)] += 1
        print(f"round {rnd}: {wall:.1f} s, winners {winners}, {sum(1 for e, _ in results if e)} errors, "
              f"{flips} commit(s) flipped the row", flush=True)

    race(rounds, n, setup, statement, after)
    print("(winners, row-flipping commits): rounds =", dict(counts))
    for (state, msg), k in errors.most_common():
        print(f"{k} x sqlState={state}: {msg[:300]}")


def insert_race(rounds, n):
    errors = collections.Counter()

    def setup(a):
        a.must("CREATE SCHEMA IF NOT EXISTS chk_race")
        a.must("DROP TABLE IF EXISTS chk_race.ins")
        a.must("CREATE TABLE chk_race.ins (id INT)")

    def after(rnd, a, results, wall):
        ok = sum(1 for e, _ in results if e is None)
        for e, _ in results:
            if e:
                errors[first_line(e)] += 1
        rows = a.must("SELECT count(*) FROM chk_race.ins")[0][0]
        print(f"round {rnd}: {wall:.1f} s, {ok} INSERTs answered success, {rows} rows"
              + ("" if rows == ok else f": {ok - rows} LOST"), flush=True)

    race(rounds, n, setup, lambda rnd, i: f"INSERT INTO chk_race.ins VALUES ({i})", after)
    for (state, msg), k in errors.most_common():
        print(f"{k} x sqlState={state}: {msg[:300]}")


def init_race(rounds, n):
    t = "chk_race.init_lock"
    ways = {
        "MERGE, only WHEN NOT MATCHED":
            f"MERGE INTO {t} AS target USING (SELECT 1 AS id, FALSE AS is_locked) AS source ON target.id = source.id "
            "WHEN NOT MATCHED THEN INSERT (id, is_locked, locked_at, process_id) "
            "VALUES (source.id, source.is_locked, NULL, NULL)",
        "INSERT ... WHERE NOT EXISTS":
            f"INSERT INTO {t} SELECT 1, FALSE, NULL, NULL WHERE NOT EXISTS (SELECT 1 FROM {t} WHERE id = 1)",
        "MERGE with WHEN MATCHED too":
            f"MERGE INTO {t} AS target USING (SELECT 1 AS id, FALSE AS is_locked) AS source ON target.id = source.id "
            "WHEN MATCHED THEN UPDATE SET target.id = target.id "
            "WHEN NOT MATCHED THEN INSERT (id, is_locked, locked_at, process_id) "
            "VALUES (source.id, source.is_locked, NULL, NULL)",
    }

    def setup(a):
        a.must("CREATE SCHEMA IF NOT EXISTS chk_race")
        a.must(f"DROP TABLE IF EXISTS {t}")
        a.must(f"CREATE TABLE {t} (id INT, is_locked BOOLEAN NOT NULL, locked_at TIMESTAMP, process_id STRING)")

    for name, sql in ways.items():
        def after(rnd, a, results, wall, name=name):
            errs = collections.Counter(first_line(e)[1][:160] for e, _ in results if e)
            rows = a.must(f"SELECT count(*) FROM {t} WHERE id = 1")[0][0]
            print(f"{name}, round {rnd}: {sum(1 for e, _ in results if e is None)} succeeded, {rows} row(s) with "
                  f"id = 1; errors: {dict(errs)}", flush=True)

        race(rounds, n, setup, lambda rnd, i, sql=sql: sql, after)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    args = [int(a) for a in sys.argv[2:4]]
    if cmd == "features":
        features()
    elif cmd == "cancel":
        cancel()
    elif cmd in ("lock-race", "insert-race", "init-race"):
        rounds, n = (args + [10, 16][len(args):])[:2]
        {"lock-race": lock_race, "insert-race": insert_race, "init-race": init_race}[cmd](rounds, n)
    else:
        sys.exit(__doc__)
