/**
 * The few S3 and DynamoDB calls the storage service makes, as plain HTTP requests (pure: builds
 * the requests). moto accepts unsigned requests but routes by the service named in the
 * Authorization header's credential scope, so that header is present with a dummy signature.
 */
export interface HttpRequest {
  method: 'GET' | 'PUT' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

function auth(service: 's3' | 'dynamodb', region: string): Record<string, string> {
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=flowlensdemo/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    'x-amz-date': '20260101T000000Z',
  };
}

const base = (endpoint: string): string => endpoint.replace(/\/+$/, '');

export function s3CreateBucket(endpoint: string, region: string, bucket: string): HttpRequest {
  return { method: 'PUT', url: `${base(endpoint)}/${encodeURIComponent(bucket)}`, headers: auth('s3', region) };
}

export function s3PutObject(endpoint: string, region: string, bucket: string, key: string, body: string): HttpRequest {
  return {
    method: 'PUT',
    url: `${base(endpoint)}/${encodeURIComponent(bucket)}/${encodeURIComponent(key)}`,
    headers: { ...auth('s3', region), 'content-type': 'application/octet-stream' },
    body,
  };
}

export function s3GetObject(endpoint: string, region: string, bucket: string, key: string): HttpRequest {
  return {
    method: 'GET',
    url: `${base(endpoint)}/${encodeURIComponent(bucket)}/${encodeURIComponent(key)}`,
    headers: auth('s3', region),
  };
}

function dynamo(endpoint: string, region: string, action: string, payload: unknown): HttpRequest {
  return {
    method: 'POST',
    url: `${base(endpoint)}/`,
    headers: {
      ...auth('dynamodb', region),
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `DynamoDB_20120810.${action}`,
    },
    body: JSON.stringify(payload),
  };
}

export function dynamoCreateTable(endpoint: string, region: string, table: string): HttpRequest {
  return dynamo(endpoint, region, 'CreateTable', {
    TableName: table,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
}

export function dynamoPutItem(endpoint: string, region: string, table: string, id: string, value: string): HttpRequest {
  return dynamo(endpoint, region, 'PutItem', { TableName: table, Item: { id: { S: id }, value: { S: value } } });
}

export function dynamoGetItem(endpoint: string, region: string, table: string, id: string): HttpRequest {
  return dynamo(endpoint, region, 'GetItem', { TableName: table, Key: { id: { S: id } } });
}
