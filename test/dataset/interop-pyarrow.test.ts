/** Our parquet files as pyarrow and pandas (what LeRobot loads them with) see them. */
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeSampleBags } from "../../src/bag/sample.js";
import { convertBags } from "../../src/dataset/convert.js";
import { loadMapping } from "../../src/dataset/mapping.js";
import { REPO_ROOT, hasProgram, interopPython, runPython } from "../helpers/system.js";
import { scratch } from "../bag/helpers.js";

const python = interopPython(["pyarrow", "pandas"]);
const haveFfmpeg = hasProgram("ffmpeg", ["-version"]);

describe.skipIf(python === undefined || !haveFfmpeg)("pyarrow / pandas interop", () => {
  let dataset = "";
  beforeAll(async () => {
    const root = scratch();
    const bags = await makeSampleBags({ outDir: path.join(root, "bags"), format: "mcap", episodes: 2, seconds: 1, cameras: 2, width: 64, height: 64, seed: 5 });
    dataset = path.join(root, "dataset");
    await convertBags({ bags, mapping: loadMapping(path.join(REPO_ROOT, "config/convert.sample.yaml")), outDir: dataset, onBadFrame: "fail" });
  });

  it("reads the data, tasks and episodes with the types LeRobot expects", () => {
    const report = JSON.parse(
      runPython(
        python!,
        `
import json, sys, pyarrow.parquet as pq, pandas as pd
root = ${JSON.stringify("__DATASET__")}
data = pq.read_table(root + "/data/chunk-000/file-000.parquet")
tasks = pd.read_parquet(root + "/meta/tasks.parquet")
episodes = pq.read_table(root + "/meta/episodes/chunk-000/file-000.parquet")
codec = pq.ParquetFile(root + "/data/chunk-000/file-000.parquet").metadata.row_group(0).column(0).compression
print(json.dumps({
  "types": {f.name: str(f.type) for f in data.schema},
  "codec": codec,
  "rows": data.num_rows,
  "task_index_of": {str(k): int(v) for k, v in tasks["task_index"].items()},
  "episode_types": {f.name: str(f.type) for f in episodes.schema if not f.name.startswith("stats/")},
  "episode_tasks": episodes.column("tasks").to_pylist(),
  "to": episodes.column("dataset_to_index").to_pylist(),
  "last_timestamp": float(data.column("timestamp").to_pylist()[-1]),
}))`.replace("__DATASET__", dataset),
      ),
    );
    expect(report.types).toEqual({
      "observation.state": "list<element: float>",
      action: "list<element: float>",
      timestamp: "float",
      frame_index: "int64",
      episode_index: "int64",
      index: "int64",
      task_index: "int64",
    });
    expect(report.codec).toBe("SNAPPY");
    expect(report.task_index_of).toEqual({ "pick up the red cube": 0, "push the cube to the left": 1 });
    expect(report.episode_tasks).toEqual([["pick up the red cube"], ["push the cube to the left"]]);
    expect(report.to.at(-1)).toBe(report.rows);
    expect(report.episode_types).toMatchObject({ episode_index: "int64", tasks: "list<element: string>", "videos/observation.images.front/from_timestamp": "double" });
  });
});
