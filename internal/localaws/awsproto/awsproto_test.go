package awsproto

import (
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
