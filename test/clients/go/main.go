// pgmanage from Go with lib/pq (Debian: golang-go, golang-github-lib-pq-dev;
// built offline by test/clients/run.sh with GOPATH=/usr/share/gocode,
// GO111MODULE=off): the three calls of docs/clients.md, then every column of
// every result checked against the Go type database/sql gives for its
// declared PostgreSQL type.  Connection from the PG* environment variables.
// Prints "ok - ..." / "not ok - ..." / "skip - ..." lines.
package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/lib/pq"
)

// DatabaseTypeName() -> the Go type lib/pq scans into an `any`: integers,
// floats, booleans, text and timestamps natively; numeric, interval, inet,
// json, arrays, oid and name as their text ([]byte): scan them into string,
// json.RawMessage or pq.Array instead, as below (oid: into int64 or uint32).
var expect = map[string]string{
	"INT2": "int64", "INT4": "int64", "INT8": "int64",
	"FLOAT4": "float64", "FLOAT8": "float64",
	"TEXT": "string", "VARCHAR": "string", "BPCHAR": "string", "CHAR": "string", "NAME": "[]uint8",
	"BOOL": "bool", "TIMESTAMPTZ": "time.Time", "TIMESTAMP": "time.Time", "DATE": "time.Time",
	"NUMERIC": "[]uint8", "OID": "[]uint8", "INTERVAL": "[]uint8", "INET": "[]uint8", "CIDR": "[]uint8",
	"JSON": "[]uint8", "JSONB": "[]uint8",
	"_INT4": "[]uint8", "_INT8": "[]uint8", "_TEXT": "[]uint8", "_NAME": "[]uint8",
}

var failures int

func say(ok bool, format string, args ...any) {
	if !ok {
		failures++
		fmt.Print("not ")
	}
	fmt.Printf("ok - "+format+"\n", args...)
}

// check reads every row of rows into `any`s, checks each column's type and
// returns the rows by column name
func check(label string, rows *sql.Rows) (out []map[string]any) {
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		say(false, "%s: %v", label, err)
		return nil
	}
	vals := make([]any, len(cts))
	ptrs := make([]any, len(cts))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	nonNull := make([]int, len(cts))
	bad := make([]string, len(cts))
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			say(false, "%s: scan: %v", label, err)
			return nil
		}
		n++
		row := map[string]any{}
		for i, ct := range cts {
			row[ct.Name()] = vals[i]
		}
		out = append(out, row)
		for i, ct := range cts {
			if vals[i] == nil {
				continue
			}
			nonNull[i]++
			got := reflect.TypeOf(vals[i]).String()
			if got != expect[ct.DatabaseTypeName()] && bad[i] == "" {
				bad[i] = fmt.Sprintf("got %s %v", got, vals[i])
			}
			// the texts parse as what they are
			if b, ok := vals[i].([]byte); ok && bad[i] == "" {
				switch ct.DatabaseTypeName() {
				case "NUMERIC":
					if _, err := strconv.ParseFloat(string(b), 64); err != nil {
						bad[i] = "numeric text does not parse: " + string(b)
					}
				case "JSON", "JSONB":
					if !json.Valid(b) {
						bad[i] = "invalid json: " + string(b)
					}
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		say(false, "%s: %v", label, err)
	}
	for i, ct := range cts {
		t := ct.DatabaseTypeName()
		want, known := expect[t]
		if !known {
			say(false, "%s.%s: %q has no native Go type", label, ct.Name(), t)
			continue
		}
		msg := ""
		if bad[i] != "" {
			msg = ": " + bad[i]
		}
		say(bad[i] == "", "%s.%s: %s -> %s (%d of %d non-NULL)%s", label, ct.Name(), strings.ToLower(t), want, nonNull[i], n, msg)
	}
	return out
}

func main() {
	db, err := sql.Open("postgres", "") // PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
	if err != nil {
		say(false, "open: %v", err)
		os.Exit(1)
	}
	defer db.Close()
	must := func(rows *sql.Rows, err error) *sql.Rows {
		if err != nil {
			say(false, "query: %v", err)
			os.Exit(1)
		}
		return rows
	}

	// 1. sizes of tables and indexes, scanned into typed variables
	var total int64
	var pretty string
	err = db.QueryRow(`SELECT total_bytes, total_pretty FROM pgmanage.pgm_size_report()
		WHERE schema_name = 'public' AND relation_name = 'orders'`).Scan(&total, &pretty)
	say(err == nil && total > 0, "pgm_size_report(): public.orders, %d bytes (%s) %v", total, pretty, err)
	check("pgm_size_report", must(db.Query(`SELECT * FROM pgmanage.pgm_size_report(include_indexes => true)`)))

	// 2. cancel what runs longer than a bound interval ($1: an interval's text)
	cancelled := 0
	for _, r := range check("pgm_kill_long", must(db.Query(`SELECT * FROM pgmanage.pgm_kill_long($1)`, "1 second"))) {
		if r["application_name"] == "pgm_clients_sleeper" && r["action_taken"] == "cancel" && r["signalled"] == true {
			cancelled++
		}
	}
	say(cancelled == 1, "pgm_kill_long($1 = '1 second') cancelled the pg_sleep session (%d)", cancelled)

	// 3. the metrics, if this pgmanage has them
	var has bool
	db.QueryRow(`SELECT to_regprocedure('pgmanage.pgm_metrics()') IS NOT NULL`).Scan(&has)
	if has {
		rows := must(db.Query(`SELECT metric, type, help, labels, value FROM pgmanage.pgm_metrics()`))
		n, prefixed := 0, 0
		for rows.Next() {
			var metric, typ, help string
			var labels json.RawMessage
			var value float64
			if err := rows.Scan(&metric, &typ, &help, &labels, &value); err != nil {
				say(false, "pgm_metrics: scan: %v", err)
				break
			}
			var l map[string]string
			if json.Unmarshal(labels, &l) == nil && strings.HasPrefix(metric, "pgmanage_") {
				prefixed++
			}
			n++
		}
		rows.Close()
		say(n > 0 && prefixed == n, "pgm_metrics(): %d samples, labels a JSON object of strings", n)
		check("pgm_metrics", must(db.Query(`SELECT * FROM pgmanage.pgm_metrics()`)))
	} else {
		fmt.Println("skip - pgm_metrics() does not exist in this pgmanage (it comes with the metrics work)")
	}

	// 4. the other reports and every view of schema pgmanage
	for _, q := range []string{"pgm_status()", "pgm_database_sizes()", "pgm_disk_usage()", "pgm_bloat()"} {
		check(strings.TrimSuffix(q, "()"), must(db.Query("SELECT * FROM pgmanage."+q)))
	}
	var views []string
	vr := must(db.Query(`SELECT viewname FROM pg_views WHERE schemaname = 'pgmanage' ORDER BY 1`))
	for vr.Next() {
		var v string
		vr.Scan(&v)
		views = append(views, v)
	}
	vr.Close()
	for _, v := range views {
		check(v, must(db.Query("SELECT * FROM pgmanage."+pq.QuoteIdentifier(v)+" LIMIT 50")))
	}
	if failures > 0 {
		os.Exit(1)
	}
}
