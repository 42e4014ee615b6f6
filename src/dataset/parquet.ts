/**
 * Parquet columns as LeRobot writes them (snappy, through hyparquet-writer): scalars, lists of numbers,
 * the image stats' 3-level nested lists, and pandas' index metadata for `meta/tasks.parquet`.
 */
import { parquetWriteFile } from "hyparquet-writer";

type SchemaElement = Record<string, unknown>;

export type ColumnKind =
  | "int64"
  | "float32"
  | "float64"
  | "string"
  | "float32_list"
  | "float64_list"
  | "int64_list"
  | "string_list"
  | "float64_list3";

export interface Column {
  name: string;
  kind: ColumnKind;
  data: unknown[];
}

const LEAF: Record<string, SchemaElement> = {
  int64: { type: "INT64" },
  float32: { type: "FLOAT" },
  float64: { type: "DOUBLE" },
  string: { type: "BYTE_ARRAY", converted_type: "UTF8" },
};

function listOf(name: string, child: SchemaElement[]): SchemaElement[] {
  return [
    { name, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
    { name: "list", repetition_type: "REPEATED", num_children: 1 },
    ...child.map((element, index) => (index === 0 ? { ...element, name: "element" } : element)),
  ];
}

function schemaOf(column: Column): SchemaElement[] {
  const leaf = (kind: string): SchemaElement[] => [{ ...LEAF[kind], name: column.name, repetition_type: "OPTIONAL" }];
  switch (column.kind) {
    case "float32_list":
      return listOf(column.name, leaf("float32"));
    case "float64_list":
      return listOf(column.name, leaf("float64"));
    case "int64_list":
      return listOf(column.name, leaf("int64"));
    case "string_list":
      return listOf(column.name, leaf("string"));
    case "float64_list3":
      return listOf(column.name, listOf("element", listOf("element", leaf("float64"))));
    default:
      return leaf(column.kind);
  }
}

function normalize(column: Column): unknown[] {
  if (column.kind === "int64") return column.data.map((value) => BigInt(value as number | bigint));
  if (column.kind === "int64_list") return column.data.map((list) => (list as (number | bigint)[]).map((value) => BigInt(value)));
  if (column.kind.endsWith("_list") || column.kind === "float64_list3") return column.data.map((list) => Array.from(list as ArrayLike<unknown>));
  return column.data;
}

/** Writes `columns` to `file` (snappy) with key/value metadata. */
export function writeParquet(file: string, columns: Column[], metadata: Record<string, string> = {}): void {
  const schema: SchemaElement[] = [{ name: "root", num_children: columns.length }, ...columns.flatMap(schemaOf)];
  parquetWriteFile({
    filename: file,
    columnData: columns.map((column) => ({ name: column.name, data: normalize(column) as never })),
    schema: schema as never,
    codec: "SNAPPY",
    kvMetadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
}

/** pandas' metadata for a frame whose string index holds the task text (what `meta/tasks.parquet` needs). */
export function pandasTaskIndexMetadata(): string {
  return JSON.stringify({
    index_columns: ["__index_level_0__"],
    column_indexes: [{ name: null, field_name: null, pandas_type: "unicode", numpy_type: "object", metadata: { encoding: "UTF-8" } }],
    columns: [
      { name: "task_index", field_name: "task_index", pandas_type: "int64", numpy_type: "int64", metadata: null },
      { name: null, field_name: "__index_level_0__", pandas_type: "unicode", numpy_type: "object", metadata: null },
    ],
    creator: { library: "pyarrow", version: "21.0.0" },
    pandas_version: "2.3.3",
  });
}
