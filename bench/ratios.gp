# gnuplot -e "datafile='...'; outfile='...'" bench/ratios.gp
# Each bar is the margin on its target: 1 or more means the target is met.
set terminal pngcairo size 1100,560 font ",10"
set output outfile
set title "fido2gate: margin on each target (1 = just met; higher is better)"
set style fill solid 0.8
set boxwidth 0.6
set yrange [0:*]
set xtics rotate by -30 left noenhanced
set grid ytics
set rmargin 14
set bmargin 7
unset key
plot datafile using 1:3:xtic(2) with boxes lc rgb "#3a6ea5", 1 with lines lc rgb "#c0392b" lw 2
