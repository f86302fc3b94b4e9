package archive

import "testing"

func TestSamePolicyComparesMeaningNotFormatting(t *testing.T) {
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::b/p*"}]}`
	for _, tc := range []struct {
		name, live string
		same       bool
	}{
		{"identical", want, true},
		{"reformatted", "{\n  \"Statement\": [ {\"Resource\": \"arn:aws:s3:::b/p*\", \"Effect\": \"Allow\", \"Action\": [\"s3:PutObject\"]} ],\n \"Version\": \"2012-10-17\"}", true},
		{"url-encoded as IAM returns it", "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3APutObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2Fp%2A%22%7D%5D%7D", true},
		{"single string for a one-element list", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":["arn:aws:s3:::b/p*"]}}`, true},
		{"wider resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::b/*"}]}`, false},
		{"extra action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::b/p*"}]}`, false},
		{"not JSON", `nope`, false},
	} {
		if got := samePolicy(tc.live, want); got != tc.same {
			t.Errorf("%s: samePolicy = %v, want %v", tc.name, got, tc.same)
		}
	}
}

func TestKeyJSONOverhead(t *testing.T) {
	for _, tc := range []struct {
		cols []string
		want int
	}{{[]string{"id"}, len(`{"id":}`)}, {[]string{"a", "bb"}, len(`{"a":,"bb":}`)}} {
		if got := keyJSONOverhead(tc.cols); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.cols, got, tc.want)
		}
	}
}
