import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPartnerSchema, partnerSchemaFromFile, type PartnerSchema } from '../../src/sandbox/schema/index.js';
import { libxml2Validate, wsdlAvailable, wsdlPath } from '../helpers/xsd.js';

const TNS = 'http://exacttarget.com/wsdl/partnerAPI';
const ROOT_NS = `xmlns="${TNS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`;
const NS1 = `xmlns:ns1="${TNS}"`;

const retrieve = (inner: string): string => `<RetrieveRequestMsg ${ROOT_NS}>
  <RetrieveRequest>${inner}</RetrieveRequest>
</RetrieveRequestMsg>`;

const create = (objects: string): string => `<CreateRequest ${ROOT_NS}><Options/>${objects}</CreateRequest>`;

const simpleFilter = (tag: string, property: string, operator: string, value: string): string =>
  `<${tag} xsi:type="ns1:SimpleFilterPart" ${NS1}>
    <Property>${property}</Property>
    <SimpleOperator>${operator}</SimpleOperator>
    ${value}
  </${tag}>`;

const importDefinition = (fields: string): string => create(`<Objects xsi:type="ImportDefinition">${fields}</Objects>`);

// Every field the seed's Create uses, in ImportDefinition's schema order: APIObject's
// CustomerKey, InteractionBaseObject's Name and Description, then ImportDefinition's own.
const SEED_IMPORT_FIELDS = `
  <CustomerKey>SAP_IMP_KEY_1</CustomerKey>
  <Name>SAP_IMP_1</Name>
  <Description>Import to SAP Sample List</Description>
  <DestinationObject xsi:type="List"><ID>123</ID><ObjectID xsi:nil="true"/></DestinationObject>
  <FieldMappingType>MapByOrdinal</FieldMappingType>
  <FieldMaps>
    <FieldMap><SourceOrdinal>0</SourceOrdinal><DestinationName>ID</DestinationName></FieldMap>
    <FieldMap><SourceOrdinal>1</SourceOrdinal><DestinationName>Email Address</DestinationName></FieldMap>
  </FieldMaps>
  <FileSpec>SAP_List.csv</FileSpec>
  <FileType>CSV</FileType>
  <Notification><ResponseType>email</ResponseType><ResponseAddress>help@example.com</ResponseAddress></Notification>
  <RetrieveFileTransferLocation><ObjectID xsi:nil="true"/><CustomerKey>ExactTarget Enhanced FTP</CustomerKey></RetrieveFileTransferLocation>
  <UpdateType>AddAndUpdate</UpdateType>`;

const PERFORM_START = `<PerformRequestMsg ${ROOT_NS}>
  <Options></Options>
  <Action>start</Action>
  <Definitions><Definition xsi:type="ImportDefinition"><CustomerKey>SAP_IMP_KEY_1</CustomerKey></Definition></Definitions>
</PerformRequestMsg>`;

// The SFMC docs' own Perform sample: Action before Options breaks PerformRequestMsg's sequence.
const SEED_PERFORM = `<PerformRequestMsg ${ROOT_NS}>
  <Action>start</Action>
  <Options></Options>
  <Definitions><Definition xsi:type="ImportDefinition"><CustomerKey>SAP_IMP_KEY_1</CustomerKey></Definition></Definitions>
</PerformRequestMsg>`;

const VALID: Record<string, string> = {
  'retrieve List by ListName': retrieve(`<ObjectType>List</ObjectType><Properties>ID</Properties>
    ${simpleFilter('Filter', 'ListName', 'equals', '<Value>Sample_List</Value>')}`),
  'retrieve Send with a ComplexFilterPart': retrieve(`<ObjectType>Send</ObjectType><Properties>ID</Properties>
    <Filter xsi:type="ns1:ComplexFilterPart" ${NS1}>
      ${simpleFilter('LeftOperand', 'Email.ID', 'equals', '<Value>123</Value>')}
      <LogicalOperator>AND</LogicalOperator>
      ${simpleFilter('RightOperand', 'SendDate', 'greaterThanOrEqual', '<DateValue>2024-05-01T00:00:00Z</DateValue>')}
    </Filter>`),
  // ObjectType is minOccurs=1, so a continue request still names it.
  'retrieve continuation': retrieve(`<ObjectType>List</ObjectType><ContinueRequest>6f1d2c3b-request-id</ContinueRequest>`),
  'retrieve ImportResultsSummary by TaskResultID': retrieve(`<ObjectType>ImportResultsSummary</ObjectType>
    <Properties>ImportDefinitionCustomerKey</Properties><Properties>ImportStatus</Properties><Properties>NumberSuccessful</Properties>
    ${simpleFilter('Filter', 'TaskResultID', 'equals', '<Value>129159023</Value>')}
    <QueryAllAccounts>true</QueryAllAccounts>`),
  'retrieve ImportDefinition by CustomerKey': retrieve(`<ObjectType>ImportDefinition</ObjectType><Properties>ObjectID</Properties>
    <Properties>CustomerKey</Properties>${simpleFilter('Filter', 'CustomerKey', 'equals', '<Value>SAP_IMP_KEY_1</Value>')}`),
  'retrieve Send by ID with options': retrieve(`<ClientIDs><ID>7</ID></ClientIDs><ObjectType>Send</ObjectType>
    <Properties>ID</Properties><Properties>Status</Properties>${simpleFilter('Filter', 'ID', 'equals', '<Value>42</Value>')}
    <Options><BatchSize>2500</BatchSize></Options>`),
  'create ImportDefinition with the seed fields': importDefinition(SEED_IMPORT_FIELDS),
  'create ImportDefinition with import options': importDefinition(`
    <CustomerKey>imp-2</CustomerKey><Name>imp 2</Name>
    <AllowErrors>true</AllowErrors>
    <DestinationObject xsi:type="ns1:List" ${NS1}><ID>123</ID></DestinationObject>
    <FieldMappingType>ManualMap</FieldMappingType>
    <FieldMaps><FieldMap><SourceName>email</SourceName><DestinationName>Email Address</DestinationName></FieldMap></FieldMaps>
    <FileSpec>subs_%%YEAR%%.csv</FileSpec><FileType>Other</FileType>
    <RetrieveFileTransferLocation><CustomerKey>ExactTarget Enhanced FTP</CustomerKey></RetrieveFileTransferLocation>
    <SubscriberImportType>Email</SubscriberImportType><UpdateType>Overwrite</UpdateType>
    <MaxFileAge>24</MaxFileAge><Delimiter>|</Delimiter><HeaderLines>1</HeaderLines>
    <StandardQuotedStrings>1</StandardQuotedStrings><DeleteFile>false</DeleteFile><EncodingCodePage>65001</EncodingCodePage>`),
  'perform start in schema order': PERFORM_START,
  'create Send with Email and List': create(`<Objects xsi:type="ns1:Send" ${NS1}><Email><ID>123</ID></Email><List><ID>123</ID></List></Objects>`),
  'create Send to two lists at a date': create(`<Objects xsi:type="Send"><Email><ID>1</ID></Email><List><ID>2</ID></List>
    <List><ID>3</ID></List><SendDate>2024-02-29T23:59:59.5+01:00</SendDate><FromName>Me &amp; co</FromName></Objects>`),
  'perform with PerformOptions content': `<PerformRequestMsg ${ROOT_NS}><Options><Priority>-3</Priority>
    <ProgramActivityInstanceID>{0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f}</ProgramActivityInstanceID></Options>
    <Action>start</Action></PerformRequestMsg>`,
  'create with an XML declaration, comment and CDATA': `<?xml version="1.0" encoding="UTF-8"?>
    <!-- sent by the list-send worker -->${create(`<Objects xsi:type="List"><ID><![CDATA[ 5 ]]></ID><ListName>a &lt; b</ListName></Objects>`)}`,
};

const INVALID: Record<string, string> = {
  "seed's Perform with Action before Options": SEED_PERFORM,
  'unknown element': retrieve(`<ObjectType>List</ObjectType><Bogus>1</Bogus>`),
  'SimpleOperator not in the enumeration': retrieve(`<ObjectType>List</ObjectType>${simpleFilter('Filter', 'ID', 'eq', '')}`),
  'FileType not in the enumeration': importDefinition(`<FileSpec>a.xlsx</FileSpec><FileType>XLSX</FileType>`),
  'UpdateType not in the enumeration': importDefinition(`<UpdateType>Upsert</UpdateType>`),
  'ResponseType in the wrong case': importDefinition(`<Notification><ResponseType>Email</ResponseType><ResponseAddress>a@b.c</ResponseAddress></Notification>`),
  'non-integer ID': importDefinition(`<DestinationObject xsi:type="List"><ID>12a</ID></DestinationObject>`),
  'int overflow': create(`<Objects xsi:type="Send"><Email><ID>2147483648</ID></Email></Objects>`),
  'missing ObjectType': retrieve(`<Properties>ID</Properties>`),
  'continuation without ObjectType': retrieve(`<ContinueRequest>6f1d2c3b-request-id</ContinueRequest>`),
  'missing ResponseAddress': importDefinition(`<Notification><ResponseType>email</ResponseType></Notification>`),
  'xsi:type naming an unknown type': create(`<Objects xsi:type="ns1:NoSuchObject" ${NS1}><ID>1</ID></Objects>`),
  'xsi:type not derived from the declared type': retrieve(`<ObjectType>List</ObjectType><Filter xsi:type="List"><ID>1</ID></Filter>`),
  'xsi:type prefix not bound': retrieve(`<ObjectType>List</ObjectType><Filter xsi:type="q:SimpleFilterPart"/>`),
  'maxOccurs exceeded': retrieve(`<ObjectType>List</ObjectType><ObjectType>Send</ObjectType>`),
  'wrong namespace on the root': retrieve('<ObjectType>List</ObjectType>').replace(`xmlns="${TNS}"`, `xmlns="${TNS}/v2"`),
  'unknown root element': `<FrobnicateRequestMsg ${ROOT_NS}/>`,
  'text in element-only content': `<PerformRequestMsg ${ROOT_NS}><Options>now</Options><Action>start</Action></PerformRequestMsg>`,
  'ImportDefinition fields out of order': importDefinition(`<FileType>CSV</FileType><FileSpec>a.csv</FileSpec>`),
  'CustomerKey before ObjectID': importDefinition(`<CustomerKey>k</CustomerKey><ObjectID>o</ObjectID>`),
  'non-boolean QueryAllAccounts': retrieve(`<ObjectType>List</ObjectType><QueryAllAccounts>yes</QueryAllAccounts>`),
  'impossible DateValue': retrieve(`<ObjectType>Send</ObjectType>${simpleFilter('Filter', 'SendDate', 'equals', '<DateValue>2023-02-29T00:00:00</DateValue>')}`),
  'xsi:nil on a non-nillable element': importDefinition(`<CustomerKey xsi:nil="true"/>`),
  'attribute the schema does not declare': create(`<Objects xsi:type="List" id="7"><ID>1</ID></Objects>`),
  'abstract type without xsi:type': retrieve(`<ObjectType>List</ObjectType><Retrieves><Request/></Retrieves>`),
  'CreateRequest without Options': `<CreateRequest ${ROOT_NS}><Objects xsi:type="List"/></CreateRequest>`,
  'element content in a simple type': retrieve(`<ObjectType><Name>List</Name></ObjectType>`),
  'child in no namespace': `<RetrieveRequestMsg ${ROOT_NS}><RetrieveRequest><ObjectType xmlns="">List</ObjectType></RetrieveRequest></RetrieveRequestMsg>`,
};

/** The element an error is about, namespace dropped: libxml2 writes `{ns}Name`, we write `Name`. */
function elementOf(message: string | undefined): string | undefined {
  const name = /^Element '([^']+)'/.exec(message ?? '')?.[1];
  return name?.replace(/^\{[^}]*\}/, '');
}

/** Small edits of the valid documents: drop, duplicate, retype or swap leaf elements. */
function mutants(corpus: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, xml] of Object.entries(corpus)) {
    const doc = xml.replace(/>\s+</g, '><');
    const leaves = [...doc.matchAll(/<([\w:]+)(?: [^<>]*)?(?:\/>|>([^<]*)<\/\1>)/g)];
    leaves.forEach((leaf, i) => {
      const at = leaf.index;
      const end = at + leaf[0].length;
      const edit = (replacement: string): string => doc.slice(0, at) + replacement + doc.slice(end);
      out[`${name} / drop ${i}`] = edit('');
      out[`${name} / duplicate ${i}`] = edit(leaf[0] + leaf[0]);
      if (leaf[2] !== undefined) {
        out[`${name} / text x ${i}`] = edit(leaf[0].replace(`>${leaf[2]}<`, '>x<'));
        out[`${name} / text -1 ${i}`] = edit(leaf[0].replace(`>${leaf[2]}<`, '>-1<'));
      }
      const next = leaves[i + 1];
      if (next && next.index === end) {
        out[`${name} / swap ${i}`] = doc.slice(0, at) + next[0] + leaf[0] + doc.slice(end + next[0].length);
      }
    });
  }
  return out;
}

/** Objects carrying each named type of the schema: only APIObject's descendants may stand there. */
function everyTypeAsObjects(wsdl: string): Record<string, string> {
  const names = [...wsdl.matchAll(/<(?:xsd:)?(?:complexType|simpleType)\b[^>]*\bname="([^"]+)"/g)].map((m) => m[1]!);
  return Object.fromEntries(names.map((t) => [`Objects as ${t}`, create(`<Objects xsi:type="ns1:${t}" ${NS1}/>`)]));
}

const available = wsdlAvailable();
if (!available) {
  console.warn(
    `[schema-validator] skipped: no SFMC partner WSDL at ${wsdlPath()}. Download ` +
      'https://{subdomain}.soap.marketingcloudapis.com/etframework.wsdl and set SFMC_WSDL_PATH to it.',
  );
}

describe.skipIf(!available)('partner schema validator', () => {
  let schema: PartnerSchema;
  const MUTANTS = mutants(VALID);
  let TYPED: Record<string, string>;
  let libxml2: Record<string, string[]>;

  beforeAll(async () => {
    schema = partnerSchemaFromFile(wsdlPath());
    TYPED = everyTypeAsObjects(readFileSync(wsdlPath(), 'utf8'));
    libxml2 = await libxml2Validate({ ...VALID, ...INVALID, ...MUTANTS, ...TYPED });
  });

  function disagreements(docs: Record<string, string>): Array<{ name: string; ours?: string; libxml2?: string }> {
    return Object.entries(docs).flatMap(([name, xml]) => {
      const ours = schema.validateElement(xml);
      const theirs = libxml2[name]!;
      const same = ours.valid === (theirs.length === 0) && elementOf(ours.errors[0]) === elementOf(theirs[0]);
      return same ? [] : [{ name, ours: ours.errors[0], libxml2: theirs[0] }];
    });
  }

  it('has a corpus of at least 12 valid and 12 invalid bodies', () => {
    expect(Object.keys(VALID).length).toBeGreaterThanOrEqual(12);
    expect(Object.keys(INVALID).length).toBeGreaterThanOrEqual(12);
  });

  it.each(Object.keys(VALID))('accepts, as libxml2 does: %s', (name) => {
    expect(libxml2[name]).toEqual([]);
    expect(schema.validateElement(VALID[name]!)).toEqual({ valid: true, errors: [] });
  });

  it.each(Object.keys(INVALID))('refuses, as libxml2 does, and about the same element: %s', (name) => {
    const ours = schema.validateElement(INVALID[name]!);
    expect(libxml2[name]!.length).toBeGreaterThan(0);
    expect(ours.valid).toBe(false);
    expect(elementOf(ours.errors[0])).toBe(elementOf(libxml2[name]![0]));
  });

  it('agrees with libxml2 on every small edit of the valid bodies', () => {
    expect(Object.keys(MUTANTS).length).toBeGreaterThan(300);
    expect(disagreements(MUTANTS)).toEqual([]);
  });

  it('agrees with libxml2 on which named types may stand in for APIObject', () => {
    expect(Object.keys(TYPED).length).toBeGreaterThan(250);
    expect(disagreements(TYPED)).toEqual([]);
  });

  it("refuses the seed's Perform body with Action before Options", () => {
    expect(schema.validateElement(SEED_PERFORM)).toEqual({
      valid: false,
      errors: ["Element 'Options': This element is not expected. Expected is ( Definitions )."],
    });
  });

  it('names the missing required element', () => {
    expect(schema.validateElement(retrieve('')).errors).toEqual([
      "Element 'RetrieveRequest': Missing child element(s). Expected is one of ( ClientIDs, ObjectType ).",
    ]);
  });

  it('lists the allowed values when an enumeration is broken', () => {
    const [error] = schema.validateElement(INVALID['UpdateType not in the enumeration']!).errors;
    expect(error).toMatch(/^Element 'UpdateType': \[facet 'enumeration'\] The value 'Upsert' is not an element of the set \{'AddAndUpdate'/);
  });

  it('validates an xsi:type body against the derived type', () => {
    const [error] = schema.validateElement(importDefinition('<FileType>CSV</FileType><Bogus/>')).errors;
    expect(error).toMatch(/^Element 'Bogus': This element is not expected\. Expected is one of \( Notification,/);
  });

  it('refuses any DOCTYPE without resolving entities', () => {
    const result = schema.validateElement(`<?xml version="1.0"?>
      <!DOCTYPE CreateRequest [<!ENTITY boom SYSTEM "file:///etc/passwd">]>
      ${create('<Objects xsi:type="List"><ListName>&boom;</ListName></Objects>')}`);
    expect(result.valid).toBe(false);
    expect(result.errors[0]).toMatch(/DOCTYPE/);
  });

  it('reports malformed XML instead of throwing', () => {
    const result = schema.validateElement(`<CreateRequest ${ROOT_NS}><Options></CreateRequest>`);
    expect(result.valid).toBe(false);
    expect(result.errors[0]).toMatch(/^XML is not well-formed: Opening and ending tag mismatch/);
  });

  it('compiles the schema once per WSDL path', () => {
    expect(partnerSchemaFromFile(wsdlPath())).toBe(schema);
  });
});

describe('loading the partner schema', () => {
  it('says where to get the WSDL when the file is missing', () => {
    expect(() => partnerSchemaFromFile('/nonexistent/partnerAPI.wsdl')).toThrow(
      /https:\/\/\{subdomain\}\.soap\.marketingcloudapis\.com\/etframework\.wsdl/,
    );
  });

  it('supports <all> groups and refuses XSD features it cannot check', () => {
    const xsd = (body: string): string =>
      `<schema xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns:t="urn:t" elementFormDefault="qualified">${body}</schema>`;
    const all = loadPartnerSchema(
      xsd(`<element name="R"><complexType><all><element name="A" type="int"/><element name="B" minOccurs="0" type="string"/></all></complexType></element>`),
    );
    expect(all.validateElement('<R xmlns="urn:t"><B>b</B><A>1</A></R>').valid).toBe(true);
    expect(all.validateElement('<R xmlns="urn:t"><B>b</B></R>').errors).toEqual([
      "Element 'R': Missing child element(s). Expected is ( A ).",
    ]);
    expect(() => loadPartnerSchema(xsd(`<complexType name="T"><sequence/><attribute name="a"/></complexType>`))).toThrow(/Unsupported/);
  });
});
