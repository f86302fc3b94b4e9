package ecsemu_test

import (
	"net/http"
	"strings"
	"testing"
)

// Every operation answers odd input with an AWS error, never a 5xx (a panic
// in a handler would be one).
func TestOddInputNeverFailsTheServer(t *testing.T) {
	f := newFixture(t)
	f.fargateCluster("default")
	td := f.register("web", "example/web:v1")
	f.createService("default", "web", td, 1, true)
	ops := []string{"CreateCluster", "DescribeClusters", "ListClusters", "DeleteCluster", "UpdateCluster", "PutClusterCapacityProviders",
		"CreateCapacityProvider", "DescribeCapacityProviders", "UpdateCapacityProvider", "DeleteCapacityProvider",
		"RegisterTaskDefinition", "DescribeTaskDefinition", "DeregisterTaskDefinition", "DeleteTaskDefinitions", "ListTaskDefinitions",
		"ListTaskDefinitionFamilies", "CreateService", "UpdateService", "DescribeServices", "DeleteService", "ListServices",
		"ListTasks", "DescribeTasks", "RunTask", "StopTask", "ListServiceDeployments", "DescribeServiceDeployments",
		"StopServiceDeployment", "ListContainerInstances", "DescribeContainerInstances", "TagResource", "UntagResource", "ListTagsForResource"}
	bodies := []string{
		`{}`, `null`, `[]`, `{"cluster":5}`, `not json`,
		`{"cluster":"default","service":"web","services":["web"],"taskDefinition":"web","tasks":["x"],"resourceArn":"arn:aws:ecs:us-east-1:000000000000:task/default/x","tags":[{}],"tagKeys":[""]}`,
		`{"cluster":"arn:aws:ecs:us-east-1:000000000000:cluster","serviceName":"x","desiredCount":-1,"capacityProviderStrategy":[{}],"containerDefinitions":[{}]}`,
		`{"serviceDeploymentArns":["arn:aws:ecs:us-east-1:000000000000:service-deployment/a"],"serviceDeploymentArn":"arn:","capacityProviders":["FARGATE",""],"defaultCapacityProviderStrategy":[{"capacityProvider":"FARGATE","weight":-1}]}`,
		`{"name":"p","autoScalingGroupProvider":{},"family":"f","containerDefinitions":[{"name":"a","image":"i","healthCheck":{"command":[],"interval":0}}],"cpu":"0.5 vcpu","memory":"1GB","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"]}`,
		`{"cluster":"default","service":"web","deploymentConfiguration":{"deploymentCircuitBreaker":{"enable":true,"rollback":true,"thresholdConfiguration":{"type":"COUNT","value":0}},"maximumPercent":50}}`,
		`{"cluster":"default","taskDefinition":"web:1","count":0,"overrides":{"containerOverrides":[{"name":"nope"}]}}`,
	}
	for _, op := range ops {
		for _, body := range bodies {
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=x")
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
