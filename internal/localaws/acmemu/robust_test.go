package acmemu_test

import (
	"net/http"
	"strings"
	"testing"
)

// Every operation answers odd input with an AWS error, never a 5xx (a panic
// in a handler would be one).
func TestOddInputNeverFailsTheServer(t *testing.T) {
	srv, _, _ := start(t)
	bodies := []string{`{}`, `null`, `[]`, `not json`, `{"DomainName":5}`, `{"DomainName":"","CertificateArn":""}`,
		`{"DomainName":"*.","SubjectAlternativeNames":[],"Tags":[],"MaxItems":0,"NextToken":"x","CertificateStatuses":["NOPE"]}`,
		`{"CertificateArn":"arn:aws:acm:us-east-1:000000000000:certificate/x"}`}
	for _, op := range []string{"RequestCertificate", "DescribeCertificate", "ListCertificates", "DeleteCertificate"} {
		for _, body := range bodies {
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "CertificateManager."+op)
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/acm/aws4_request, SignedHeaders=host, Signature=x")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", op, body, err)
			}
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("%s with %s: HTTP %d", op, body, resp.StatusCode)
			}
		}
	}
}
