#!/usr/bin/env bash
# Build a ROS 2 interface package (.msg files) with plain cmake (no colcon) against the ROS 2 wheels
# installed by setup.sh, and install it into a prefix that can be overlaid.
#
#   usage: . VENV/ros2-env.sh
#          tools/ros2-wheels/build-interfaces.sh PKG_NAME MSG_DIR BUILD_DIR INSTALL_PREFIX
#   then:  export AMENT_PREFIX_PATH=INSTALL_PREFIX:$AMENT_PREFIX_PATH
#          export LD_LIBRARY_PATH=INSTALL_PREFIX/lib:$LD_LIBRARY_PATH
#          export PYTHONPATH=INSTALL_PREFIX/lib/pythonX.Y/site-packages   # only for rclpy
#
# Dependencies (std_msgs, sensor_msgs, builtin_interfaces, ...) are taken from the pkg/Type
# references in the .msg files. Idempotent (cmake rebuilds incrementally).
set -euo pipefail
PKG=${1:?usage: $0 PKG_NAME MSG_DIR BUILD_DIR INSTALL_PREFIX}
MSG_DIR=$(cd "${2:?}" && pwd)
BUILD=${3:?}
PREFIX=${4:?}
: "${AMENT_PREFIX_PATH:?source VENV/ros2-env.sh first}"
mkdir -p "$BUILD/src/$PKG/msg" "$PREFIX"
PREFIX=$(cd "$PREFIX" && pwd)
SRC="$BUILD/src/$PKG"

MSGS=()
for f in "$MSG_DIR"/*.msg; do
  cp -p "$f" "$SRC/msg/"
  MSGS+=("\"msg/$(basename "$f")\"")
done
DEPS=$(sed -e 's/#.*//' "$MSG_DIR"/*.msg | grep -oE '^[[:space:]]*[a-z][a-z0-9_]*/' | tr -d ' /\t' | sort -u | grep -vx "$PKG" | tr '\n' ' ' || true)

{
  echo '<?xml version="1.0"?>'
  echo '<package format="3">'
  echo "  <name>$PKG</name><version>0.0.0</version><description>$PKG interfaces</description>"
  echo '  <maintainer email="dev@example.com">dev</maintainer><license>Apache-2.0</license>'
  echo '  <buildtool_depend>ament_cmake</buildtool_depend>'
  echo '  <buildtool_depend>rosidl_default_generators</buildtool_depend>'
  for d in $DEPS; do echo "  <depend>$d</depend>"; done
  echo '  <exec_depend>rosidl_default_runtime</exec_depend>'
  echo '  <member_of_group>rosidl_interface_packages</member_of_group>'
  echo '  <export><build_type>ament_cmake</build_type></export>'
  echo '</package>'
} > "$SRC/package.xml.new"
{
  echo 'cmake_minimum_required(VERSION 3.8)'
  echo "project($PKG)"
  echo 'find_package(ament_cmake REQUIRED)'
  echo 'find_package(rosidl_default_generators REQUIRED)'
  for d in $DEPS; do echo "find_package($d REQUIRED)"; done
  echo "rosidl_generate_interfaces(\${PROJECT_NAME} ${MSGS[*]} DEPENDENCIES $DEPS)"
  echo 'ament_export_dependencies(rosidl_default_runtime)'
  echo 'ament_package()'
} > "$SRC/CMakeLists.txt.new"
# only touch the files when they change, so reruns stay incremental
for f in package.xml CMakeLists.txt; do
  cmp -s "$SRC/$f.new" "$SRC/$f" && rm "$SRC/$f.new" || mv "$SRC/$f.new" "$SRC/$f"
done

cmake -S "$SRC" -B "$BUILD/build/$PKG" -DCMAKE_INSTALL_PREFIX="$PREFIX" \
  -DPython3_EXECUTABLE="$(command -v python)" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD/build/$PKG" -j"$(nproc)" >/dev/null
cmake --install "$BUILD/build/$PKG" >/dev/null
echo "installed $PKG into $PREFIX" >&2
