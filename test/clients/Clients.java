// pgmanage from Java with JDBC (Debian: libpostgresql-jdbc-java), run by
// test/clients/run.sh as a single-file program
// (java -cp /usr/share/java/postgresql.jar Clients.java): the three calls of
// docs/clients.md, then every column of every result checked against the
// Java class getObject() returns for its declared PostgreSQL type.
// Connection from the PG* environment variables.
// Prints "ok - ..." / "not ok - ..." / "skip - ..." lines.
import java.math.BigDecimal;
import java.sql.*;
import java.util.*;
import org.postgresql.util.PGInterval;
import org.postgresql.util.PGobject;

public class Clients {
    // getColumnTypeName() -> the class getObject() returns
    static final Map<String, Class<?>> EXPECT = new HashMap<>();
    static {
        EXPECT.put("int2", Integer.class); EXPECT.put("int4", Integer.class);
        EXPECT.put("int8", Long.class); EXPECT.put("oid", Long.class);
        EXPECT.put("float4", Float.class); EXPECT.put("float8", Double.class);
        EXPECT.put("numeric", BigDecimal.class);
        for (String t : new String[] {"text", "name", "varchar", "bpchar", "char"}) EXPECT.put(t, String.class);
        EXPECT.put("bool", Boolean.class);
        EXPECT.put("timestamptz", Timestamp.class); EXPECT.put("timestamp", Timestamp.class);
        EXPECT.put("date", java.sql.Date.class);
        EXPECT.put("interval", PGInterval.class);
        // json, jsonb, inet: a PGobject whose getType() names the type; getValue() is its text
        for (String t : new String[] {"json", "jsonb", "inet", "cidr"}) EXPECT.put(t, PGobject.class);
        for (String t : new String[] {"_int4", "_int8", "_text", "_name"}) EXPECT.put(t, java.sql.Array.class);
    }
    static int failures = 0;
    static Map<String, String> typtype = new HashMap<>();

    static void say(boolean ok, String msg) {
        if (!ok) failures++;
        System.out.println((ok ? "ok - " : "not ok - ") + msg);
    }

    /** every column: a base type with a Java class, every value of that class; the rows by name */
    static List<Map<String, Object>> check(String label, ResultSet rs) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        int n = md.getColumnCount();
        List<Map<String, Object>> rows = new ArrayList<>();
        while (rs.next()) {
            Map<String, Object> row = new HashMap<>();
            for (int i = 1; i <= n; i++) row.put(md.getColumnLabel(i), rs.getObject(i));
            rows.add(row);
        }
        rs.close();
        for (int i = 1; i <= n; i++) {
            String col = md.getColumnLabel(i), t = md.getColumnTypeName(i);
            Class<?> want = EXPECT.get(t);
            String tt = typtype.getOrDefault(t, "?");
            if (!tt.equals("b") || want == null) {
                say(false, label + "." + col + ": " + t + " (typtype " + tt + ") has no native Java type");
                continue;
            }
            int nonNull = 0;
            String bad = null;
            for (Map<String, Object> r : rows) {
                Object v = r.get(col);
                if (v == null) continue;
                nonNull++;
                if (bad == null && !want.isInstance(v)) bad = "got " + v.getClass().getName() + " " + v;
                // a PGobject must carry its own type, not stand for an unknown one
                if (bad == null && v instanceof PGobject && !((PGobject) v).getType().equals(t))
                    bad = "PGobject of type " + ((PGobject) v).getType();
            }
            say(bad == null, label + "." + col + ": " + t + " -> " + want.getSimpleName() + " (" + nonNull
                + " of " + rows.size() + " non-NULL)" + (bad == null ? "" : ": " + bad));
        }
        return rows;
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://" + System.getenv("PGHOST") + ":" + System.getenv("PGPORT") + "/"
            + System.getenv("PGDATABASE");
        try (Connection db = DriverManager.getConnection(url, System.getenv("PGUSER"), System.getenv("PGPASSWORD"));
             Statement st = db.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT typname, typtype FROM pg_type")) {
                while (rs.next()) typtype.put(rs.getString(1), rs.getString(2));
            }

            // 1. sizes of tables and indexes
            List<Map<String, Object>> rows = check("pgm_size_report",
                st.executeQuery("SELECT * FROM pgmanage.pgm_size_report(include_indexes => true)"));
            Optional<Map<String, Object>> orders = rows.stream()
                .filter(r -> "public".equals(r.get("schema_name")) && "orders".equals(r.get("relation_name")))
                .findFirst();
            say(orders.isPresent() && (Long) orders.get().get("total_bytes") > 0,
                "pgm_size_report(): public.orders, " + orders.map(r -> r.get("total_pretty")).orElse("missing"));

            // 2. cancel what runs longer than a bound interval (a PGInterval parameter)
            try (PreparedStatement ps = db.prepareStatement("SELECT * FROM pgmanage.pgm_kill_long(?)")) {
                ps.setObject(1, new PGInterval("1 second"));
                rows = check("pgm_kill_long", ps.executeQuery());
            }
            long mine = rows.stream().filter(r -> "pgm_clients_sleeper".equals(r.get("application_name"))
                && "cancel".equals(r.get("action_taken")) && Boolean.TRUE.equals(r.get("signalled"))).count();
            say(mine == 1, "pgm_kill_long(PGInterval(\"1 second\")) cancelled the pg_sleep session (" + mine + ")");

            // 3. the metrics, if this pgmanage has them
            boolean has;
            try (ResultSet rs = st.executeQuery("SELECT to_regprocedure('pgmanage.pgm_metrics()') IS NOT NULL")) {
                rs.next();
                has = rs.getBoolean(1);
            }
            if (has) {
                rows = check("pgm_metrics", st.executeQuery("SELECT metric, type, help, labels, value FROM pgmanage.pgm_metrics()"));
                boolean prefixed = rows.stream().allMatch(r -> ((String) r.get("metric")).startsWith("pgmanage_"));
                say(!rows.isEmpty() && prefixed, "pgm_metrics(): " + rows.size() + " samples");
            } else {
                System.out.println("skip - pgm_metrics() does not exist in this pgmanage (it comes with the metrics work)");
            }

            // 4. the other reports and every view of schema pgmanage
            for (String q : new String[] {"pgm_status()", "pgm_database_sizes()", "pgm_disk_usage()", "pgm_bloat()"})
                check(q.replace("()", ""), st.executeQuery("SELECT * FROM pgmanage." + q));
            List<String> views = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT viewname FROM pg_views WHERE schemaname = 'pgmanage' ORDER BY 1")) {
                while (rs.next()) views.add(rs.getString(1));
            }
            for (String v : views) check(v, st.executeQuery("SELECT * FROM pgmanage." + v + " LIMIT 50"));
        } catch (SQLException e) {
            say(false, e.toString());
        }
        System.exit(failures > 0 ? 1 : 0);
    }
}
