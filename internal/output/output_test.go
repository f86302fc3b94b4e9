package output

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

func TestEmitJSONIsOneDocument(t *testing.T) {
	var buf bytes.Buffer
	p := &Printer{Out: &buf, Format: JSON}
	type res struct {
		QueueURL string `json:"queue_url"`
		Moved    int    `json:"moved"`
	}
	err := p.Emit(res{"http://q/<a>", 3}, func(w io.Writer) error { t.Fatal("table called in json mode"); return nil })
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&buf)
	var got map[string]any
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Fatal("more than one JSON document")
	}
	if got["queue_url"] != "http://q/<a>" || got["moved"] != 3.0 {
		t.Fatalf("got %v", got)
	}
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, []string{"name", "depth"}, [][]string{{"orders-dlq", "12"}, {"billing-dlq", ""}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want header + 2 rows, got %q", out)
	}
	if !strings.Contains(lines[0], "NAME") || !strings.Contains(lines[1], "orders-dlq") || !strings.Contains(lines[2], "-") {
		t.Fatalf("unexpected table:\n%s", out)
	}
	if strings.ContainsAny(out, "│┌+|") {
		t.Fatalf("table has borders:\n%s", out)
	}
}

func TestParseFormatAndLevel(t *testing.T) {
	for in, want := range map[string]Format{"": Table, "table": Table, "JSON": JSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("ParseFormat(yaml) accepted")
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Error("ParseLevel(loud) accepted")
	}
}

func TestProgressSilentOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, false, "moving")
	p.Update(5, 10, "msgs")
	p.Done()
	if buf.Len() != 0 {
		t.Fatalf("progress wrote %q off a terminal", buf.String())
	}
}

// Tables fit the terminal: long cells are cut with "…" (the widest column
// first), short ones stay whole; without a width nothing is cut.
func TestTablesFitTheTerminalWidth(t *testing.T) {
	hint := `ops@example.com must click "Confirm subscription" in the "AWS Notification - Subscription Confirmation" email within 3 days; until then no alarm email reaches them`
	rows := [][]string{{"ops@example.com", "pending confirmation", hint}, {"dev@example.com", "confirmed", ""}}
	for _, width := range []int{80, 100, 120} {
		var buf bytes.Buffer
		p := &Printer{Out: &buf, Format: Table, Width: width}
		if err := p.Emit(nil, func(w io.Writer) error { return WriteTable(w, []string{"Email", "State", "To do"}, rows) }); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
			if n := len([]rune(line)); n > width {
				t.Fatalf("width %d: line of %d columns: %q", width, n, line)
			}
		}
		if !strings.Contains(buf.String(), "pending confirmation") || !strings.Contains(buf.String(), "dev@example.com") || !strings.Contains(buf.String(), "…") {
			t.Fatalf("width %d: short columns cut or long one not marked:\n%s", width, buf.String())
		}
	}
	var buf bytes.Buffer
	p := &Printer{Out: &buf, Format: Table} // --wide, or piped
	p.Emit(nil, func(w io.Writer) error { return WriteTable(w, []string{"Email", "State", "To do"}, rows) })
	if !strings.Contains(buf.String(), "until then no alarm email reaches them") {
		t.Fatalf("wide output cut:\n%s", buf.String())
	}
}
