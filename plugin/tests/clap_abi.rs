//! The built `COCOLA.clap` driven through the raw CLAP ABI, as a host would:
//! entry, factory, descriptor, instantiate, audio ports, activate, process
//! with the sidechain port, state save/load, destroy. Ignored by plain
//! `cargo test` (needs `cargo xtask bundle cocola --release`); `cargo xtask
//! test` runs it with `--ignored`. `COCOLA_BUNDLE_DIR` overrides where the
//! bundle is looked for.

use std::ffi::{c_char, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

use clap_sys::audio_buffer::clap_audio_buffer;
use clap_sys::entry::clap_plugin_entry;
use clap_sys::events::{clap_event_header, clap_input_events, clap_output_events};
use clap_sys::ext::audio_ports::{clap_audio_port_info, clap_plugin_audio_ports, CLAP_EXT_AUDIO_PORTS};
use clap_sys::ext::state::{clap_plugin_state, CLAP_EXT_STATE};
use clap_sys::factory::plugin_factory::{clap_plugin_factory, CLAP_PLUGIN_FACTORY_ID};
use clap_sys::host::clap_host;
use clap_sys::process::{clap_process, CLAP_PROCESS_ERROR};
use clap_sys::stream::{clap_istream, clap_ostream};
use clap_sys::version::CLAP_VERSION;

unsafe extern "C" fn host_get_extension(_: *const clap_host, _: *const c_char) -> *const c_void {
    null()
}
unsafe extern "C" fn host_request(_: *const clap_host) {}
unsafe extern "C" fn events_size(_: *const clap_input_events) -> u32 {
    0
}
unsafe extern "C" fn events_get(_: *const clap_input_events, _: u32) -> *const clap_event_header {
    null()
}
unsafe extern "C" fn events_push(_: *const clap_output_events, _: *const clap_event_header) -> bool {
    false
}
unsafe extern "C" fn write_to_vec(stream: *const clap_ostream, buffer: *const c_void, size: u64) -> i64 {
    let out = &mut *((*stream).ctx as *mut Vec<u8>);
    out.extend_from_slice(std::slice::from_raw_parts(buffer as *const u8, size as usize));
    size as i64
}
struct Reader {
    data: Vec<u8>,
    pos: usize,
}
unsafe extern "C" fn read_from_vec(stream: *const clap_istream, buffer: *mut c_void, size: u64) -> i64 {
    let r = &mut *((*stream).ctx as *mut Reader);
    let n = (size as usize).min(r.data.len() - r.pos);
    std::ptr::copy_nonoverlapping(r.data[r.pos..].as_ptr(), buffer as *mut u8, n);
    r.pos += n;
    n as i64
}

fn bundle_dir() -> PathBuf {
    std::env::var_os("COCOLA_BUNDLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap()
                .join("target/bundled")
        })
}

fn cstr(p: *const c_char) -> String {
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

#[test]
#[ignore = "needs the release bundle: run by `cargo xtask test`"]
fn clap_bundle_loads_processes_with_sidechain_and_round_trips_state() {
    let clap_path = bundle_dir().join("COCOLA.clap");
    assert!(
        clap_path.is_file(),
        "{} missing: run `cargo xtask bundle cocola --release`",
        clap_path.display()
    );
    let dir = std::env::temp_dir().join(format!("cocola-clap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("random.onnx");
    let weights = cocola::model::testing::random_weights(3);
    cocola::model::write_model_file(&model, &weights, &cocola::model::testing::test_metadata()).unwrap();
    let log = dir.join("plugin.log");
    // Before the plugin starts any thread. An empty user cache: ONNX Runtime
    // must be found next to COCOLA.clap, through the plugin's own location.
    std::env::set_var("COCOLA_MODEL", &model);
    std::env::set_var("NICE_LOG", &log);
    std::env::set_var("XDG_CACHE_HOME", dir.join("empty-cache"));
    std::env::remove_var("COCOLA_ORT_LIB");
    std::env::remove_var("ORT_DYLIB_PATH");

    unsafe {
        let lib = libloading::Library::new(&clap_path).expect("dlopen COCOLA.clap");
        let entry: libloading::Symbol<*const clap_plugin_entry> = lib.get(b"clap_entry\0").unwrap();
        let entry = &**entry;
        let path_c = CString::new(clap_path.to_str().unwrap()).unwrap();
        assert!((entry.init.unwrap())(path_c.as_ptr()));
        let factory = (entry.get_factory.unwrap())(CLAP_PLUGIN_FACTORY_ID.as_ptr()) as *const clap_plugin_factory;
        assert!(!factory.is_null());
        assert_eq!(((*factory).get_plugin_count.unwrap())(factory), 1);
        let desc = ((*factory).get_plugin_descriptor.unwrap())(factory, 0);
        assert_eq!(cstr((*desc).id), "org.cocola.analyzer");
        assert_eq!(cstr((*desc).name), "COCOLA");
        let mut features = Vec::new();
        let mut f = (*desc).features;
        while !(*f).is_null() {
            features.push(cstr(*f));
            f = f.add(1);
        }
        assert!(
            features.contains(&"audio-effect".to_string()) && features.contains(&"analyzer".to_string()),
            "{features:?}"
        );

        let host_name = CString::new("cocola-clap-abi-test").unwrap();
        let host = clap_host {
            clap_version: CLAP_VERSION,
            host_data: null_mut(),
            name: host_name.as_ptr(),
            vendor: host_name.as_ptr(),
            url: host_name.as_ptr(),
            version: host_name.as_ptr(),
            get_extension: Some(host_get_extension),
            request_restart: Some(host_request),
            request_process: Some(host_request),
            request_callback: Some(host_request),
        };
        let plugin = ((*factory).create_plugin.unwrap())(factory, &host, (*desc).id);
        assert!(!plugin.is_null());
        let p = &*plugin;
        assert!((p.init.unwrap())(plugin));

        // Ports: stereo main in/out and the stereo "Condition" sidechain.
        let ports = (p.get_extension.unwrap())(plugin, CLAP_EXT_AUDIO_PORTS.as_ptr()) as *const clap_plugin_audio_ports;
        assert!(!ports.is_null());
        assert_eq!(((*ports).count.unwrap())(plugin, true), 2);
        assert_eq!(((*ports).count.unwrap())(plugin, false), 1);
        let mut info: clap_audio_port_info = std::mem::zeroed();
        assert!(((*ports).get.unwrap())(plugin, 1, true, &mut info));
        assert_eq!(cstr(info.name.as_ptr()), "Condition");
        assert_eq!(info.channel_count, 2);

        let rate = 48_000.0;
        let block = 512usize;
        assert!((p.activate.unwrap())(plugin, rate, 1, block as u32));
        assert!((p.start_processing.unwrap())(plugin));
        let in_events = clap_input_events {
            ctx: null_mut(),
            size: Some(events_size),
            get: Some(events_get),
        };
        let out_events = clap_output_events {
            ctx: null_mut(),
            try_push: Some(events_push),
        };
        let seconds = 6.0;
        let frames = (rate * seconds) as usize;
        let tone = |f: f64, i: usize| (0.4 * (2.0 * std::f64::consts::PI * f * i as f64 / rate).sin()) as f32;
        let (mut max_error, mut pos) = (0u32, 0usize);
        while pos + block <= frames {
            let mut main_in: Vec<Vec<f32>> = (0..2)
                .map(|c| (0..block).map(|i| tone(220.0 + 110.0 * c as f64, pos + i)).collect())
                .collect();
            let mut side_in: Vec<Vec<f32>> = (0..2)
                .map(|c| (0..block).map(|i| tone(330.0 + 55.0 * c as f64, pos + i)).collect())
                .collect();
            let mut main_out = vec![vec![0.0f32; block]; 2];
            let mut main_in_ptrs: Vec<*mut f32> = main_in.iter_mut().map(|c| c.as_mut_ptr()).collect();
            let mut side_ptrs: Vec<*mut f32> = side_in.iter_mut().map(|c| c.as_mut_ptr()).collect();
            let mut out_ptrs: Vec<*mut f32> = main_out.iter_mut().map(|c| c.as_mut_ptr()).collect();
            let buffer = |ptrs: &mut Vec<*mut f32>| clap_audio_buffer {
                data32: ptrs.as_mut_ptr(),
                data64: null_mut(),
                channel_count: 2,
                latency: 0,
                constant_mask: 0,
            };
            let inputs = [buffer(&mut main_in_ptrs), buffer(&mut side_ptrs)];
            let mut outputs = [buffer(&mut out_ptrs)];
            let process = clap_process {
                steady_time: pos as i64,
                frames_count: block as u32,
                transport: null(),
                audio_inputs: inputs.as_ptr(),
                audio_outputs: outputs.as_mut_ptr(),
                audio_inputs_count: 2,
                audio_outputs_count: 1,
                in_events: &in_events,
                out_events: &out_events,
            };
            assert_ne!((p.process.unwrap())(plugin, &process), CLAP_PROCESS_ERROR);
            for c in 0..2 {
                for i in 0..block {
                    if main_out[c][i].to_bits() != main_in[c][i].to_bits() {
                        max_error += 1;
                    }
                }
            }
            pos += block;
        }
        assert_eq!(max_error, 0, "samples not passed through bit-exactly");

        // State: save, change nothing, load it back; both must succeed and
        // the saved bytes must carry the model choice.
        let state = (p.get_extension.unwrap())(plugin, CLAP_EXT_STATE.as_ptr()) as *const clap_plugin_state;
        assert!(!state.is_null());
        let mut saved: Vec<u8> = Vec::new();
        let ostream = clap_ostream {
            ctx: &mut saved as *mut Vec<u8> as *mut c_void,
            write: Some(write_to_vec),
        };
        assert!(((*state).save.unwrap())(plugin, &ostream));
        let text = String::from_utf8_lossy(&saved);
        assert!(text.contains("hop") && text.contains("model"), "{text}");
        let mut reader = Reader {
            data: saved.clone(),
            pos: 0,
        };
        let istream = clap_istream {
            ctx: &mut reader as *mut Reader as *mut c_void,
            read: Some(read_from_vec),
        };
        assert!(((*state).load.unwrap())(plugin, &istream));

        // The worker scored at least one window (it logs each one).
        let start = Instant::now();
        let logged = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("COCOLA window end=") || start.elapsed() > Duration::from_secs(30) {
                break text;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            logged.contains("COCOLA window end="),
            "no window scored; log:\n{logged}"
        );
        assert!(
            logged.contains("libonnxruntime") || logged.contains("model loaded"),
            "{logged}"
        );

        (p.stop_processing.unwrap())(plugin);
        (p.deactivate.unwrap())(plugin);
        (p.destroy.unwrap())(plugin);
        (entry.deinit.unwrap())();
        drop(lib);
    }
}
