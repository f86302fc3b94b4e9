package awsproto

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPaginateWalksEveryItemOnce(t *testing.T) {
	items := []int{0, 1, 2, 3, 4, 5, 6}
	var got []int
	tok := ""
	pages := 0
	for {
		page, next, err := Paginate(items, tok, 0, 3, "InvalidParameterException")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		pages++
		if next == "" {
			break
		}
		tok = next
	}
	if len(got) != 7 || pages != 3 {
		t.Fatalf("got %v in %d pages", got, pages)
	}
	if _, _, err := Paginate(items, "garbage", 0, 3, "InvalidParameterException"); err == nil || !strings.Contains(err.Error(), "InvalidParameterException") {
		t.Fatalf("bad token accepted: %v", err)
	}
}

func TestOperationNames(t *testing.T) {
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("X-Amz-Target", "Logs_20140328.PutMetricFilter")
	if op := Operation(r, nil); op != "PutMetricFilter" {
		t.Fatal(op)
	}
	r = httptest.NewRequest("POST", "/service/GraniteServiceVersion20100801/operation/PutMetricAlarm", nil)
	r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	if op := Operation(r, nil); op != "PutMetricAlarm" || Detect(r) != CBOR {
		t.Fatal(op)
	}
	r = httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if op := Operation(r, []byte("Action=Publish&Version=2010-03-31")); op != "Publish" {
		t.Fatal(op)
	}
}

func TestQueryCompatibleErrorsCarryShapeAndCode(t *testing.T) {
	r := httptest.NewRequest("POST", "/service/GraniteServiceVersion20100801/operation/DeleteAlarms", nil)
	r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	w := httptest.NewRecorder()
	e := Errf("ResourceNotFound", "gone")
	e.Type = "com.amazonaws.cloudwatch#ResourceNotFound"
	WriteError(w, r, e)
	if got := w.Header().Get("X-Amzn-Query-Error"); got != "ResourceNotFound;Sender" {
		t.Fatalf("X-Amzn-Query-Error %q", got)
	}
	var body map[string]string
	if err := cborDec.Unmarshal(w.Body.Bytes(), &body); err != nil || body["__type"] != e.Type || body["message"] != "gone" {
		t.Fatalf("body %v %v", body, err)
	}
}

func TestRPCDecodesGzippedRequests(t *testing.T) {
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(`{"Namespace":"x"}`))
	zw.Close()
	var got string
	rpc := &RPC{Ops: map[string]Handler{"PutMetricData": func(_ *http.Request, dec Decoder) (any, error) {
		var in struct{ Namespace string }
		err := dec(&in)
		got = in.Namespace
		return nil, err
	}}}
	r := httptest.NewRequest("POST", "/", &zb)
	r.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801.PutMetricData")
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	r.Header.Set("Content-Encoding", "gzip")
	w := httptest.NewRecorder()
	rpc.ServeHTTP(w, r)
	if w.Code != 200 || got != "x" {
		t.Fatalf("status %d namespace %q: %s", w.Code, got, w.Body)
	}
}
