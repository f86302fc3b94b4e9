package awsproto

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// restServer serves a RESTService shaped like Lambda's (routes from botocore
// lambda service-2.json) to a real lambda client.
func restServer(t *testing.T, svc *RESTService) *lambda.Client {
	t.Helper()
	ts := httptest.NewServer(svc)
	t.Cleanup(ts.Close)
	return lambda.NewFromConfig(testConfig(ts.URL))
}

func wantRESTError(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("err = %v, want %s containing %q", err, code, msg)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Fatalf("err = %v, want HTTP %d", err, status)
	}
}

func TestRESTServiceRoutesDecodesAndAnswersWithModelledShapes(t *testing.T) {
	type listIn struct {
		Marker   string `rest:"query=Marker"`
		MaxItems *int   `rest:"query=MaxItems"`
	}
	var gotList listIn
	var gotName, gotOp string
	var gotBody struct {
		Description string `json:"Description"`
		Qualifier   string `rest:"query=Qualifier"`
	}
	svc := &RESTService{ValidationCode: "InvalidParameterValueException", SerializationCode: "InvalidRequestContentException",
		ErrorFields: func(*Error) map[string]any { return map[string]any{"Type": "User"} },
		Routes: []Route{
			// botocore lambda: ListFunctions GET /2015-03-31/functions, responseCode 200.
			{Op: "ListFunctions", Method: "GET", Path: "/2015-03-31/functions", Handler: func(q *RESTRequest) (any, error) {
				if err := q.Decode(&gotList); err != nil {
					return nil, err
				}
				return map[string]any{"Functions": []map[string]string{{"FunctionName": "a"}}, "NextMarker": "m2"}, nil
			}},
			{Op: "GetFunctionConfiguration", Method: "GET", Path: "/2015-03-31/functions/{FunctionName}/configuration", Handler: func(q *RESTRequest) (any, error) {
				gotName, gotOp = q.Param("FunctionName"), q.Op
				if gotName == "missing" {
					// botocore lambda: ResourceNotFoundException httpStatusCode 404, members Type, Message.
					return nil, &Error{Status: 404, Code: "ResourceNotFoundException", Message: "Function not found: missing", Sender: true}
				}
				return map[string]any{"FunctionName": gotName}, nil
			}},
			{Op: "UpdateFunctionConfiguration", Method: "PUT", Path: "/2015-03-31/functions/{FunctionName}/configuration", Handler: func(q *RESTRequest) (any, error) {
				if err := q.Decode(&gotBody); err != nil {
					return nil, err
				}
				return map[string]any{"Description": gotBody.Description}, nil
			}},
			// botocore lambda: DeleteFunctionEventInvokeConfig responseCode 204.
			{Op: "DeleteFunctionEventInvokeConfig", Method: "DELETE", Path: "/2019-09-25/functions/{FunctionName}/event-invoke-config", Status: 204, Handler: func(q *RESTRequest) (any, error) {
				return nil, nil
			}},
			{Op: "ListFunctionEventInvokeConfigs", Method: "GET", Path: "/2019-09-25/functions/{FunctionName}/event-invoke-config/list", Handler: func(q *RESTRequest) (any, error) {
				gotOp = q.Op
				return map[string]any{"FunctionEventInvokeConfigs": []any{}}, nil
			}},
			{Op: "Invoke", Method: "POST", Path: "/2015-03-31/functions/{FunctionName}/invocations", Handler: func(q *RESTRequest) (any, error) {
				var in struct {
					Type    string `rest:"header=X-Amz-Invocation-Type"`
					Payload []byte `rest:"payload"`
				}
				if err := q.Decode(&in); err != nil {
					return nil, err
				}
				if string(in.Payload) == `"throttle"` {
					// botocore lambda: TooManyRequestsException 429, retryAfterSeconds in
					// the Retry-After header, Reason in the body.
					return nil, &Error{Status: 429, Code: "TooManyRequestsException", Message: "Rate Exceeded.", Sender: true,
						Fields: map[string]any{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}, Header: map[string]string{"Retry-After": "7"}}
				}
				h := http.Header{}
				h.Set("X-Amz-Executed-Version", "$LATEST")
				if in.Type == "Event" {
					return &RESTResponse{Status: 202, Header: h}, nil
				}
				return &RESTResponse{Header: h, Raw: in.Payload}, nil
			}},
		}}
	c := restServer(t, svc)
	ctx := context.Background()

	l, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{Marker: aws.String("m1"), MaxItems: aws.Int32(7)})
	if err != nil || len(l.Functions) != 1 || aws.ToString(l.NextMarker) != "m2" {
		t.Fatalf("ListFunctions: %+v %v", l, err)
	}
	if gotList.Marker != "m1" || gotList.MaxItems == nil || *gotList.MaxItems != 7 {
		t.Fatalf("query decoded as %+v", gotList)
	}

	// A label is one unescaped path segment; a partial ARN carries colons.
	g, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("000000000000:function:orders")})
	if err != nil || aws.ToString(g.FunctionName) != "000000000000:function:orders" || gotOp != "GetFunctionConfiguration" {
		t.Fatalf("GetFunctionConfiguration: %+v %v (op %s)", g, err, gotOp)
	}
	_, err = c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("missing")})
	wantRESTError(t, err, "ResourceNotFoundException", 404, "Function not found: missing")
	var nf *ltypes.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Type) != "User" || aws.ToString(nf.Message) != "Function not found: missing" {
		t.Fatalf("want the modelled ResourceNotFoundException with Type and Message, got %#v", err)
	}

	u, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f"), Description: aws.String("new")})
	if err != nil || aws.ToString(u.Description) != "new" {
		t.Fatalf("UpdateFunctionConfiguration: %+v %v", u, err)
	}

	if _, err := c.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("f")}); err != nil {
		t.Fatalf("204 without a body: %v", err)
	}
	// The longer literal route wins over the shorter one with the same prefix.
	if _, err := c.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("f")}); err != nil || gotOp != "ListFunctionEventInvokeConfigs" {
		t.Fatalf("ListFunctionEventInvokeConfigs: %v (op %s)", err, gotOp)
	}

	inv, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`{"a":1}`)})
	if err != nil || inv.StatusCode != 200 || string(inv.Payload) != `{"a":1}` || aws.ToString(inv.ExecutedVersion) != "$LATEST" {
		t.Fatalf("Invoke: %+v %v", inv, err)
	}
	inv, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), InvocationType: ltypes.InvocationTypeEvent, Payload: []byte(`{}`)})
	if err != nil || inv.StatusCode != 202 {
		t.Fatalf("Invoke Event: %+v %v", inv, err)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`"throttle"`)})
	wantRESTError(t, err, "TooManyRequestsException", 429, "Rate Exceeded.")
	var tm *ltypes.TooManyRequestsException
	if !errors.As(err, &tm) || aws.ToString(tm.RetryAfterSeconds) != "7" || tm.Reason != ltypes.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
		t.Fatalf("want TooManyRequestsException with Retry-After and Reason, got %#v", err)
	}

	// An operation the table does not have.
	_, err = c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("f")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnknownOperationException" {
		t.Fatalf("unrouted operation: %v", err)
	}
}

func TestRESTServiceRejectsUndecodableInputWithTheServiceCodes(t *testing.T) {
	svc := &RESTService{ValidationCode: "InvalidParameterValueException", SerializationCode: "InvalidRequestContentException",
		Routes: []Route{{Op: "UpdateFunctionConfiguration", Method: "PUT", Path: "/2015-03-31/functions/{FunctionName}/configuration", Handler: func(q *RESTRequest) (any, error) {
			var in struct {
				Timeout  *int `json:"Timeout"`
				MaxItems *int `rest:"query=MaxItems"`
			}
			return nil, q.Decode(&in)
		}}}}
	ts := httptest.NewServer(svc)
	defer ts.Close()
	cases := []struct {
		name, query, body, code string
	}{
		{"body is not JSON", "", `{"Timeout":`, "InvalidRequestContentException"},
		{"member has the wrong type", "", `{"Timeout":"soon"}`, "InvalidRequestContentException"},
		{"query integer is not a number", "?MaxItems=lots", `{}`, "InvalidParameterValueException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("PUT", ts.URL+"/2015-03-31/functions/f/configuration"+tc.query, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != tc.code {
				t.Fatalf("got %d %q, want 400 %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), tc.code)
			}
		})
	}
	// A known path with another method is 405, an unknown path 404.
	for _, tc := range []struct {
		method, path string
		status       int
	}{{"POST", "/2015-03-31/functions/f/configuration", 405}, {"GET", "/nowhere", 404}} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
			t.Fatalf("%s %s: got %d %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	}
}

func TestRESTRouteGreedyLabelAndRequiredQuery(t *testing.T) {
	svc := &RESTService{Routes: []Route{
		{Op: "GetObject", Method: "GET", Path: "/{Bucket}/{Key+}"},
		{Op: "ListVersions", Method: "GET", Path: "/{Bucket}?versions"},
		{Op: "ListObjects", Method: "GET", Path: "/{Bucket}"},
	}}
	for _, tc := range []struct{ url, op, key string }{
		{"/b/a/b%20c/d.txt", "GetObject", "a/b c/d.txt"},
		{"/b?versions", "ListVersions", ""},
		{"/b", "ListObjects", ""},
		{"/b/", "ListObjects", ""},
	} {
		r := httptest.NewRequest("GET", tc.url, nil)
		rt, params, _ := svc.route(r)
		if rt == nil || rt.Op != tc.op || params["Key"] != tc.key {
			t.Errorf("%s: routed to %v %v, want %s key %q", tc.url, rt, params, tc.op, tc.key)
		}
	}
}
