package lambdaemu_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/lambdaemu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

const role = "arn:aws:iam::000000000000:role/fn-role"

func setup(t *testing.T) (*localaws.Server, *lambda.Client, *lambdaemu.Server) {
	srv := localawstest.Start(t, localaws.Options{})
	c := lambda.NewFromConfig(localawstest.Config(srv, 1))
	emu, ok := srv.Service("lambda").(*lambdaemu.Server)
	if !ok {
		t.Fatal("lambda is not served by lambdaemu")
	}
	return srv, c, emu
}

func create(t *testing.T, c *lambda.Client, name string, dlq string) *lambda.CreateFunctionOutput {
	t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: []byte("PK fake")},
	}
	if dlq != "" {
		in.DeadLetterConfig = &types.DeadLetterConfig{TargetArn: aws.String(dlq)}
	}
	out, err := c.CreateFunction(context.Background(), in)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return out
}

func TestFunctionsCreateGetListUpdate(t *testing.T) {
	srv, c, _ := setup(t)
	ctx := context.Background()
	dlq := "arn:aws:sqs:us-east-1:000000000000:orders-dlq"
	out := create(t, c, "orders", dlq)
	if aws.ToString(out.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:orders" || out.DeadLetterConfig == nil || aws.ToString(out.DeadLetterConfig.TargetArn) != dlq {
		t.Fatalf("create output %+v", out)
	}
	for i := 0; i < 4; i++ {
		create(t, c, fmt.Sprintf("fn-%d", i), "")
	}
	_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("orders"), Role: aws.String(role), Runtime: types.RuntimeNodejs20x, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: []byte("x")}})
	emutest.WantHTTP(t, err, "ResourceConflictException", 409)

	// Paging with small pages: every function exactly once.
	var names []string
	p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if len(names) != 5 || pages < 3 {
		t.Fatalf("listed %v in %d pages", names, pages)
	}

	for _, ref := range []string{"orders", "arn:aws:lambda:us-east-1:000000000000:function:orders", "orders:$LATEST", "000000000000:function:orders"} {
		g, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(ref)})
		if err != nil || aws.ToString(g.FunctionName) != "orders" || aws.ToString(g.DeadLetterConfig.TargetArn) != dlq {
			t.Fatalf("get %s: %+v %v", ref, g, err)
		}
	}
	gf, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders")})
	if err != nil || aws.ToString(gf.Configuration.Role) != role {
		t.Fatalf("GetFunction: %+v %v", gf, err)
	}
	_, err = c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("nope")})
	emutest.WantHTTP(t, err, "ResourceNotFoundException", 404)

	// Update the DLQ, then remove it with an empty TargetArn.
	other := "arn:aws:sqs:us-east-1:000000000000:other-dlq"
	u, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("orders"), DeadLetterConfig: &types.DeadLetterConfig{TargetArn: aws.String(other)}})
	if err != nil || aws.ToString(u.DeadLetterConfig.TargetArn) != other {
		t.Fatalf("update: %+v %v", u, err)
	}
	u, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("orders"), DeadLetterConfig: &types.DeadLetterConfig{TargetArn: aws.String("")}})
	if err != nil || u.DeadLetterConfig != nil {
		t.Fatalf("remove DLQ: %+v %v", u.DeadLetterConfig, err)
	}
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("orders"), DeadLetterConfig: &types.DeadLetterConfig{TargetArn: aws.String("arn:aws:s3:::bucket")}})
	emutest.WantHTTP(t, err, "InvalidParameterValueException", 400)

	// Validation on create.
	bad := []*lambda.CreateFunctionInput{
		{FunctionName: aws.String("bad name"), Role: aws.String(role), Runtime: types.RuntimeNodejs20x, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: []byte("x")}},
		{FunctionName: aws.String("norole"), Role: aws.String("not-an-arn"), Runtime: types.RuntimeNodejs20x, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: []byte("x")}},
		{FunctionName: aws.String("nocode"), Role: aws.String(role), Runtime: types.RuntimeNodejs20x, Handler: aws.String("h"), Code: &types.FunctionCode{}},
	}
	for _, in := range bad {
		_, err := c.CreateFunction(ctx, in)
		emutest.WantHTTP(t, err, "InvalidParameterValueException", 400)
	}
	// Every call is recorded under its operation name.
	emutest.WantOps(t, srv, "lambda", "CreateFunction", "ListFunctions", "GetFunctionConfiguration", "GetFunction", "UpdateFunctionConfiguration")
}

func TestInvokeRecordsPayloadsAndFailsOnDemand(t *testing.T) {
	srv, c, emu := setup(t)
	ctx := context.Background()
	create(t, c, "worker", "")

	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("worker"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"id":1}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("event invoke: %+v %v", out, err)
	}
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("worker"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Fatalf("dry run: %+v %v", out, err)
	}
	emu.SetHandler("worker", func(p []byte) ([]byte, error) { return []byte(`{"echo":` + string(p) + `}`), nil })
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("worker"), Payload: []byte(`{"id":2}`)})
	if err != nil || out.StatusCode != 200 || string(out.Payload) != `{"echo":{"id":2}}` || out.FunctionError != nil {
		t.Fatalf("request/response: %+v %s %v", out, out.Payload, err)
	}
	emu.SetHandler("worker", func(p []byte) ([]byte, error) { return nil, errors.New("boom") })
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("worker"), Payload: []byte(`{"id":3}`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("failing handler: %+v %v", out, err)
	}

	invs := emu.Invocations("worker")
	if len(invs) != 3 || invs[0].Type != "Event" || string(invs[0].Payload) != `{"id":1}` || invs[1].Type != "RequestResponse" {
		t.Fatalf("recorded %+v", invs)
	}
	if invs[0].RequestID == "" {
		t.Fatal("no request id recorded")
	}

	emu.Throttle("worker", 1)
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("worker"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{}`)})
	emutest.WantHTTP(t, err, "TooManyRequestsException", 429)
	var tm *types.TooManyRequestsException
	if !errors.As(err, &tm) {
		t.Fatalf("want a modelled TooManyRequestsException, got %T", err)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("missing"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{}`)})
	emutest.WantHTTP(t, err, "ResourceNotFoundException", 404)
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) == "" {
		t.Fatalf("want a modelled ResourceNotFoundException with a message, got %#v", err)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("worker"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`not json`)})
	emutest.WantHTTP(t, err, "InvalidRequestContentException", 400)

	// Throttling is retried by the SDK's standard retryer.
	retrying := lambda.NewFromConfig(localawstest.Config(srv, 3))
	emu.Throttle("worker", 2)
	if _, err := retrying.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("worker"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"id":4}`)}); err != nil {
		t.Fatalf("throttled twice then accepted: %v", err)
	}
}

func TestEventInvokeConfigs(t *testing.T) {
	_, c, _ := setup(t)
	ctx := context.Background()
	create(t, c, "async", "")
	dst := "arn:aws:sqs:us-east-1:000000000000:async-failures"

	_, err := c.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("async")})
	emutest.WantHTTP(t, err, "ResourceNotFoundException", 404)
	_, err = c.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("async"), MaximumRetryAttempts: aws.Int32(1)})
	emutest.WantHTTP(t, err, "ResourceNotFoundException", 404)

	put, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("async"), MaximumRetryAttempts: aws.Int32(1),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(dst)}},
	})
	if err != nil || aws.ToInt32(put.MaximumRetryAttempts) != 1 || aws.ToString(put.DestinationConfig.OnFailure.Destination) != dst || put.LastModified == nil {
		t.Fatalf("put: %+v %v", put, err)
	}
	// Update merges: the destination survives a retry change.
	upd, err := c.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("async"), MaximumRetryAttempts: aws.Int32(0)})
	if err != nil || aws.ToInt32(upd.MaximumRetryAttempts) != 0 || aws.ToString(upd.DestinationConfig.OnFailure.Destination) != dst {
		t.Fatalf("update: %+v %v", upd, err)
	}
	lst, err := c.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("async")})
	if err != nil || len(lst.FunctionEventInvokeConfigs) != 1 || aws.ToString(lst.FunctionEventInvokeConfigs[0].DestinationConfig.OnFailure.Destination) != dst {
		t.Fatalf("list: %+v %v", lst, err)
	}
	// Put replaces: no destination any more.
	put, err = c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("async"), MaximumEventAgeInSeconds: aws.Int32(120)})
	if err != nil || (put.DestinationConfig != nil && put.DestinationConfig.OnFailure != nil) {
		t.Fatalf("put replace: %+v %v", put, err)
	}
	for _, in := range []*lambda.PutFunctionEventInvokeConfigInput{
		{FunctionName: aws.String("async"), MaximumRetryAttempts: aws.Int32(3)},
		{FunctionName: aws.String("async"), MaximumEventAgeInSeconds: aws.Int32(30)},
		{FunctionName: aws.String("async"), DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("nope")}}},
		{FunctionName: aws.String("async"), DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(dst + ".fifo")}}},
	} {
		_, err := c.PutFunctionEventInvokeConfig(ctx, in)
		emutest.WantHTTP(t, err, "InvalidParameterValueException", 400)
	}
	if _, err := c.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("async")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("async")})
	emutest.WantHTTP(t, err, "ResourceNotFoundException", http.StatusNotFound)
	_, err = c.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("ghost")})
	emutest.WantHTTP(t, err, "ResourceNotFoundException", 404)
}

func TestInjectedFaultsAnswerInLambdasErrorShape(t *testing.T) {
	srv, c, _ := setup(t)
	ctx := context.Background()
	create(t, c, "orders", "")

	// A permanent failure on a bodiless GET: the endpoint must answer in
	// restJson1 (X-Amzn-ErrorType), not in REST-XML, or the SDK cannot name it.
	emutest.Fail(srv, "lambda", "GetFunctionConfiguration", 1, "AccessDeniedException", 403, "not allowed")
	_, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("orders")})
	emutest.WantHTTP(t, err, "AccessDeniedException", 403)
	var ae smithy.APIError
	if errors.As(err, &ae); ae.ErrorMessage() != "not allowed" {
		t.Fatalf("message %q, want the injected one", ae.ErrorMessage())
	}
	// A modelled error injected on a call with a body decodes to its type.
	emutest.Fail(srv, "lambda", "Invoke", 1, "ResourceNotFoundException", 404, "gone")
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("orders"), Payload: []byte(`{}`)})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "gone" {
		t.Fatalf("want a modelled ResourceNotFoundException, got %#v", err)
	}
	// A transient 5xx is retried by the standard retryer, then succeeds.
	retrying := lambda.NewFromConfig(localawstest.Config(srv, 3))
	emutest.ServerError(srv, "lambda", "ListFunctions", 2)
	if _, err := retrying.ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil {
		t.Fatalf("two 5xx then success: %v", err)
	}
}

func TestFunctionTagsRoundTripThroughTheTaggingAPI(t *testing.T) {
	_, c, _ := setup(t)
	ctx := context.Background()
	out, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("tagged"), Role: aws.String(role), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: []byte("PK fake")},
		Tags: map[string]string{"team": "data"},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.FunctionArn
	if _, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: arn, Tags: map[string]string{"env": "prod", "team": "ops"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &lambda.UntagResourceInput{Resource: arn, TagKeys: []string{"env", "never-set"}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListTags(ctx, &lambda.ListTagsInput{Resource: arn})
	if err != nil || len(lt.Tags) != 1 || lt.Tags["team"] != "ops" {
		t.Fatalf("ListTags: %v %v", lt.Tags, err)
	}
	gf, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("tagged")})
	if err != nil || gf.Tags["team"] != "ops" {
		t.Fatalf("GetFunction tags: %v %v", gf.Tags, err)
	}

	// botocore lambda TagResource errors: InvalidParameterValueException, ResourceNotFoundException.
	_, err = c.TagResource(ctx, &lambda.TagResourceInput{Resource: arn, Tags: map[string]string{"": "v"}})
	emutest.WantHTTP(t, err, "InvalidParameterValueException", 400)
	_, err = c.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String("arn:aws:lambda:us-east-1:000000000000:function:ghost")})
	emutest.WantHTTP(t, err, "ResourceNotFoundException", 404)
	_, err = c.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String("arn:aws:sqs:us-east-1:000000000000:q")})
	emutest.WantHTTP(t, err, "InvalidParameterValueException", 400)
}

func TestConstraintViolationsNameTheMemberAndTheModelsBound(t *testing.T) {
	_, c, _ := setup(t)
	ctx := context.Background()
	create(t, c, "limits", "")
	cases := []struct {
		name string
		call func() error
		msg  string
	}{
		{"runtime outside the model's enum", func() error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("limits"), Runtime: "cobol85"})
			return err
		}, "Value 'cobol85' at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [nodejs, "},
		{"timeout and memory together", func() error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("limits"), Timeout: aws.Int32(0), MemorySize: aws.Int32(64)})
			return err
		}, "2 validation errors detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1; Value '64' at 'memorySize'"},
		{"list page size above MaxListItems", func() error {
			_, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(10001)})
			return err
		}, "Value '10001' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 10000"},
		{"retry attempts above 2", func() error {
			_, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("limits"), MaximumRetryAttempts: aws.Int32(3)})
			return err
		}, "Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			emutest.WantHTTP(t, err, "InvalidParameterValueException", 400)
			var ae smithy.APIError
			errors.As(err, &ae)
			if !strings.Contains(ae.ErrorMessage(), tc.msg) {
				t.Fatalf("message %q, want it to contain %q", ae.ErrorMessage(), tc.msg)
			}
		})
	}
}
