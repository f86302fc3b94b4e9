package etl

import (
	"path/filepath"
	"testing"
)

// TestExamplesRebuild keeps the README quick start honest.
func TestExamplesRebuild(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "orders.parquet")
	res := rebuild(t, Options{Source: filepath.Join("..", "examples", "cdc", "orders"), Format: "dynamodb", Dest: dest})
	if res.Records != 11 || res.Duplicates != 1 || res.BadRecords != 0 {
		t.Fatalf("orders report %+v", res)
	}
	rows := rowsOf(t, dest, "order_id")
	want := map[string]string{
		"o-1001": `{"status":"SHIPPED","note":"tracking 1Z999","coupon":null}`,
		"o-1002": `{"status":"PAID","note":null,"coupon":null}`,
		"o-1003": `{"status":"NEW","note":null,"coupon":null}`,
		"o-1004": `{"status":"NEW","note":null,"coupon":"WELCOME10"}`,
	}
	if len(rows) != len(want) {
		t.Fatalf("orders: %v", rows)
	}
	for k, w := range want {
		r := rows[k]
		got := compact(map[string]any{"status": r["status"], "note": r["note"], "coupon": r["coupon"]})
		// compact sorts map keys; compare through the same encoding
		var wm map[string]any
		if err := jsonUnmarshal(w, &wm); err != nil {
			t.Fatal(err)
		}
		if got != compact(wm) {
			t.Errorf("%s: got %s, want %s", k, got, w)
		}
	}
	if compact(rows["o-1003"]["qty"]) != "1" || compact(rows["o-1004"]["amount"]) != "42.00" { // DECIMAL(38,2): exact, cents kept
		t.Errorf("o-1003/o-1004: %v %v", rows["o-1003"], rows["o-1004"])
	}

	udest := filepath.Join(t.TempDir(), "users.parquet")
	ures := rebuild(t, Options{Source: filepath.Join("..", "examples", "cdc", "users"), Format: "debezium", Key: []string{"id"}, Dest: udest})
	users := rowsOf(t, udest, "id")
	if len(users) != 3 || users["1"]["email"] != "ana@example.org" || users["2"] != nil || ures.LiveKeys != 3 {
		t.Fatalf("users %v", users)
	}
}
